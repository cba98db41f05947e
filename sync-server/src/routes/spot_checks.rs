//! Spot checks (抽查复核) and lifecycle flags over HTTP.
//!
//! - `POST /api/v1/spot-checks {period_from, period_to, share_percent, seed?}` (bureau
//!   staff): the population is every case whose bureau decision (approval or rejection,
//!   as the lifecycle records derive it) falls within the period (Beijing dates,
//!   inclusive); `shared::spot_check::draw` picks `round(share × n)` of them (at least
//!   one) from the seed (given, or drawn by the server and recorded). The draw — period,
//!   share, seed, population and selection — is stored, so it can be re-run and audited
//!   (`GET /api/v1/spot-checks/{id}` re-runs it and says whether it matches), and each
//!   drawn case is assigned to one of the bureau's verifiers in turn (their devices then
//!   sync it; audited as `assign_case`).
//! - `GET /api/v1/spot-checks` lists the draws, newest first.
//! - `GET /api/v1/cases/{id}/lifecycle-flags`: the case's lifecycle records the server's
//!   re-check flagged (same scope rules as the case's history);
//!   `GET /api/v1/stats/lifecycle-flags` every flagged record of the caller's scope with
//!   its case's unit and applicant (bureau staff: all units; IT admins: refused).

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::Json;
use hecha_shared::api::Role;
use hecha_shared::case::lifecycle_doc::{self as ld, date_of_ms, parse_date};
use hecha_shared::lifecycle::Transition;
use hecha_shared::spot_check;
use hecha_shared::{CaseId, UserId};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::admin::{self, Actor};
use crate::auth::Caller;
use crate::case_read::parse_case_id;
use crate::db::audit::AuditAction;
use crate::db::{cases, meta, scope};
use crate::error::ApiError;
use crate::lifecycle_check::{self, LifecycleFlag};
use crate::AppState;

/// `POST /api/v1/spot-checks`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SpotCheckDrawRequest {
    /// `YYYY-MM-DD` (inclusive).
    pub period_from: String,
    /// `YYYY-MM-DD` (inclusive).
    pub period_to: String,
    /// 1..=100.
    pub share_percent: u32,
    /// Decimal text of a u64 (text: JavaScript numbers cannot hold every u64); absent:
    /// the server draws one and records it.
    #[serde(default)]
    pub seed: Option<String>,
}

/// One drawn case and the verifier it went to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrawnCase {
    pub case_id: CaseId,
    /// Username of the bureau verifier it was assigned to (`None`: the bureau has none).
    pub assigned_to: Option<String>,
}

/// A stored draw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpotCheckDraw {
    pub draw_id: i64,
    pub period_from: String,
    pub period_to: String,
    pub share_permille: u32,
    pub seed: String,
    /// The population drawn from (decided in the period), sorted.
    pub population: Vec<CaseId>,
    pub drawn: Vec<DrawnCase>,
    pub drawn_by: UserId,
    pub drawn_at_ms: i64,
    /// `GET` only: drawing again from the stored population and seed gives the same cases.
    #[serde(default)]
    pub rerun_matches: Option<bool>,
}

fn json<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    body.map(|Json(v)| v)
        .map_err(|e| super::body_error(e.status(), e.body_text()))
}

fn bureau_only(caller: &Caller) -> Result<(), ApiError> {
    if caller.user.role == Role::Bureau {
        Ok(())
    } else {
        Err(ApiError::Forbidden("only bureau staff draw spot checks"))
    }
}

/// The cases decided (approved or rejected) between `from` and `to`, sorted.
fn decided_between(
    conn: &Connection,
    from: hecha_shared::id_number::Date,
    to: hecha_shared::id_number::Date,
) -> Result<Vec<CaseId>, ApiError> {
    let ids: Vec<String> = conn
        .prepare(
            "SELECT case_id FROM cases
             WHERE status IN ('active', 'recheck', 'adjusted', 'exited', 'rejected')
             ORDER BY case_id",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut out = Vec::new();
    for id in ids {
        let Ok(case_id) = id.parse::<CaseId>() else {
            continue;
        };
        let bytes = cases::load_doc(conn, case_id)?.unwrap_or_default();
        let Some(doc) = crate::sync::load_stored(case_id, &bytes) else {
            continue;
        };
        let lc = ld::read(&doc);
        let derived = lc.derive();
        let decided = lc
            .applied(&derived)
            .into_iter()
            .filter(|t| matches!(t.transition, Transition::Approve | Transition::Reject))
            .map(|t| date_of_ms(t.at_ms))
            .next_back();
        if decided.is_some_and(|d| d >= from && d <= to) {
            out.push(case_id);
        }
    }
    Ok(out)
}

fn bureau_verifiers(conn: &Connection) -> rusqlite::Result<Vec<(UserId, String)>> {
    let rows: Vec<(String, String)> = conn
        .prepare(
            "SELECT user_id, username FROM users WHERE role = 'verifier' AND unit = 'bureau'
             ORDER BY username",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, name)| Some((id.parse().ok()?, name)))
        .collect())
}

fn to_json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

/// `POST /api/v1/spot-checks`.
pub(crate) async fn draw(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<SpotCheckDrawRequest>, JsonRejection>,
) -> Result<Json<SpotCheckDraw>, ApiError> {
    bureau_only(&caller)?;
    let request = json(body)?;
    let (Some(from), Some(to)) = (
        parse_date(&request.period_from),
        parse_date(&request.period_to),
    ) else {
        return Err(ApiError::BadRequest("日期格式应为YYYY-MM-DD".into()));
    };
    if from > to {
        return Err(ApiError::BadRequest(
            "抽查期间的开始日期晚于结束日期".into(),
        ));
    }
    if !(1..=100).contains(&request.share_percent) {
        return Err(ApiError::BadRequest("抽查比例应在1%到100%之间".into()));
    }
    let seed: u64 = match request.seed.as_deref().map(str::trim) {
        Some(s) if !s.is_empty() => s
            .parse()
            .map_err(|_| ApiError::BadRequest("随机种子应为非负整数".into()))?,
        _ => rand::random(),
    };
    let share_permille = request.share_percent * 10;
    let answer = state
        .blocking(move |state| {
            let now = state.now_ms();
            state.db().write(|conn| -> Result<SpotCheckDraw, ApiError> {
                let tx = conn.transaction()?;
                let population = decided_between(&tx, from, to)?;
                let picked = spot_check::draw(&population, share_permille, seed);
                let verifiers = bureau_verifiers(&tx)?;
                let by = Actor {
                    user: Some(caller.user.user_id),
                    device: Some(caller.device_id),
                };
                let mut drawn = Vec::with_capacity(picked.len());
                for (i, case_id) in picked.iter().enumerate() {
                    let assignee = (!verifiers.is_empty()).then(|| &verifiers[i % verifiers.len()]);
                    if let Some((user, username)) = assignee {
                        if scope::assign(&tx, *case_id, *user, Some(caller.user.user_id), now)? {
                            let seq = meta::next_seq(&tx)?;
                            scope::touch_case(&tx, *case_id, seq)?;
                            let target = format!("{case_id}:{username}");
                            admin::audit(
                                &tx,
                                by,
                                now,
                                AuditAction::AssignCase,
                                &target,
                                Some("抽查复核"),
                            )?;
                        }
                    }
                    drawn.push(DrawnCase {
                        case_id: *case_id,
                        assigned_to: assignee.map(|(_, name)| name.clone()),
                    });
                }
                tx.execute(
                    "INSERT INTO spot_check_draws (period_from, period_to, share_permille, seed,
                         population, drawn, drawn_by, drawn_at_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    params![
                        from.to_string(),
                        to.to_string(),
                        share_permille,
                        seed.to_string(),
                        to_json(&population),
                        to_json(&drawn),
                        caller.user.user_id.to_string(),
                        now
                    ],
                )?;
                let draw_id = tx.last_insert_rowid();
                tx.commit()?;
                Ok(SpotCheckDraw {
                    draw_id,
                    period_from: from.to_string(),
                    period_to: to.to_string(),
                    share_permille,
                    seed: seed.to_string(),
                    population,
                    drawn,
                    drawn_by: caller.user.user_id,
                    drawn_at_ms: now,
                    rerun_matches: None,
                })
            })
        })
        .await?;
    Ok(Json(answer))
}

fn read_draw(r: &rusqlite::Row<'_>) -> rusqlite::Result<SpotCheckDraw> {
    let population: String = r.get(5)?;
    let drawn: String = r.get(6)?;
    let by: String = r.get(7)?;
    Ok(SpotCheckDraw {
        draw_id: r.get(0)?,
        period_from: r.get(1)?,
        period_to: r.get(2)?,
        share_permille: r.get(3)?,
        seed: r.get(4)?,
        population: serde_json::from_str(&population).unwrap_or_default(),
        drawn: serde_json::from_str(&drawn).unwrap_or_default(),
        drawn_by: by
            .parse()
            .unwrap_or_else(|_| UserId::from_random_bytes([0; 16])),
        drawn_at_ms: r.get(8)?,
        rerun_matches: None,
    })
}

const DRAW_COLUMNS: &str = "draw_id, period_from, period_to, share_permille, seed, population,
                            drawn, drawn_by, drawn_at_ms";

/// `GET /api/v1/spot-checks/{id}`: the draw, re-run from its stored seed.
pub(crate) async fn get_draw(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<SpotCheckDraw>, ApiError> {
    bureau_only(&caller)?;
    let answer = state
        .blocking(move |state| {
            state.db().read(|conn| -> Result<SpotCheckDraw, ApiError> {
                let mut draw = conn
                    .query_row(
                        &format!("SELECT {DRAW_COLUMNS} FROM spot_check_draws WHERE draw_id = ?1"),
                        [id],
                        read_draw,
                    )
                    .optional()?
                    .ok_or(ApiError::NotFound)?;
                let seed: u64 = draw.seed.parse().unwrap_or_default();
                let again = spot_check::draw(&draw.population, draw.share_permille, seed);
                let stored: Vec<CaseId> = draw.drawn.iter().map(|d| d.case_id).collect();
                draw.rerun_matches = Some(again == stored);
                Ok(draw)
            })
        })
        .await?;
    Ok(Json(answer))
}

/// `GET /api/v1/spot-checks`: every draw, newest first.
pub(crate) async fn list_draws(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<SpotCheckDraw>>, ApiError> {
    bureau_only(&caller)?;
    let answer = state
        .blocking(move |state| {
            state
                .db()
                .read(|conn| -> Result<Vec<SpotCheckDraw>, ApiError> {
                    let rows = conn
                        .prepare(&format!(
                            "SELECT {DRAW_COLUMNS} FROM spot_check_draws ORDER BY draw_id DESC"
                        ))?
                        .query_map([], read_draw)?
                        .collect::<Result<_, _>>()?;
                    Ok(rows)
                })
        })
        .await?;
    Ok(Json(answer))
}

/// `GET /api/v1/cases/{id}/lifecycle-flags`.
pub(crate) async fn lifecycle_flags(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<LifecycleFlag>>, ApiError> {
    let case_id = parse_case_id(&id)?;
    if caller.user.role == Role::Admin {
        return Err(ApiError::Unavailable);
    }
    let answer = state
        .blocking(move |state| {
            state
                .db()
                .read(|conn| -> Result<Vec<LifecycleFlag>, ApiError> {
                    let scope = caller.scope();
                    match cases::unit_of(conn, case_id)? {
                        Some(unit) if scope.allows(conn, case_id, &unit)? => {}
                        _ => return Err(ApiError::Unavailable),
                    }
                    Ok(lifecycle_check::flags_of(conn, case_id)?)
                })
        })
        .await?;
    Ok(Json(answer))
}

/// One flagged lifecycle record with its case, for the flag list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlaggedRecord {
    pub unit: String,
    pub applicant_name: String,
    #[serde(flatten)]
    pub flag: LifecycleFlag,
}

/// `GET /api/v1/stats/lifecycle-flags`: the flagged lifecycle records of the caller's
/// scope (bureau staff: every unit; others: their unit), newest first, at most 1000.
pub(crate) async fn flag_list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<FlaggedRecord>>, ApiError> {
    let unit = match caller.user.role {
        Role::Admin => return Err(ApiError::Forbidden("IT admins see no case content")),
        Role::Bureau => String::new(),
        Role::Verifier | Role::Supervisor => caller.user.unit.to_string(),
    };
    let answer = state
        .blocking(move |state| {
            state
                .db()
                .read(|conn| -> Result<Vec<FlaggedRecord>, ApiError> {
                    let mut stmt = conn.prepare(
                        "SELECT c.unit, c.applicant_name, f.case_id, f.record_id, f.transition,
                            f.reason, f.message, f.user_id, f.device_id, f.record_at_ms,
                            f.flagged_at_ms
                     FROM lifecycle_flags f JOIN cases c ON c.case_id = f.case_id
                     WHERE ?1 = '' OR c.unit = ?1
                     ORDER BY f.flagged_at_ms DESC, f.record_id LIMIT 1000",
                    )?;
                    let rows = stmt
                        .query_map([unit], |r| {
                            let case_id: String = r.get(2)?;
                            Ok((
                                r.get::<_, String>(0)?,
                                r.get::<_, String>(1)?,
                                case_id,
                                LifecycleFlag {
                                    case_id: CaseId::from_random_bytes([0; 16]),
                                    record_id: r.get(3)?,
                                    transition: r.get(4)?,
                                    reason: r.get(5)?,
                                    message: r.get(6)?,
                                    user_id: r
                                        .get::<_, Option<String>>(7)?
                                        .and_then(|s| s.parse().ok()),
                                    device_id: r
                                        .get::<_, Option<String>>(8)?
                                        .and_then(|s| s.parse().ok()),
                                    record_at_ms: r.get(9)?,
                                    flagged_at_ms: r.get(10)?,
                                },
                            ))
                        })?
                        .collect::<Result<Vec<_>, _>>()?;
                    Ok(rows
                        .into_iter()
                        .filter_map(|(unit, applicant_name, case_id, mut flag)| {
                            flag.case_id = case_id.parse().ok()?;
                            Some(FlaggedRecord {
                                unit,
                                applicant_name,
                                flag,
                            })
                        })
                        .collect())
                })
        })
        .await?;
    Ok(Json(answer))
}
