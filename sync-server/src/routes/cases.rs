//! `GET /api/v1/cases`: the case ledger of the caller's scope, filtered, sorted and
//! paged, read from the materialised columns (no document is loaded). The same query
//! parameters drive the exports and the statistics; every one is validated (a wrong
//! value or an unknown parameter is a 400 saying which).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use hecha_shared::api::CaseList;
use hecha_shared::calendar::{civil_from_days, days_from_civil};
use hecha_shared::case::{AssistanceType, CaseStatus, HardshipCause, Origin};
use hecha_shared::id_number::Date;
use hecha_shared::{UnitId, UserId};
use serde::Deserialize;

use crate::auth::Caller;
use crate::db::cases::{self, CaseFilter, SortKey, TimeRange};
use crate::error::ApiError;
use crate::AppState;

pub(crate) const DEFAULT_LIMIT: u32 = 100;
pub(crate) const MAX_LIMIT: u32 = 1000;
/// Longest name filter (characters).
const MAX_NAME: usize = 50;
/// Beijing time (UTC+8, no daylight saving), in ms.
const BEIJING_OFFSET_MS: i64 = 8 * 3_600_000;
const DAY_MS: i64 = 86_400_000;

/// The query string as sent: every field text, so `name=&limit=` (empty values) means
/// "no filter" rather than an error. Unknown parameters are refused (a typo must not
/// silently widen a query).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCaseQuery {
    unit: Option<String>,
    status: Option<String>,
    assistance: Option<String>,
    hardship: Option<String>,
    verifier: Option<String>,
    origin: Option<String>,
    urgent: Option<String>,
    open_conflicts: Option<String>,
    changed_after_signing: Option<String>,
    created_from: Option<String>,
    created_to: Option<String>,
    updated_from: Option<String>,
    updated_to: Option<String>,
    updated_since_ms: Option<String>,
    visit_from: Option<String>,
    visit_to: Option<String>,
    name: Option<String>,
    id_suffix: Option<String>,
    sort: Option<String>,
    order: Option<String>,
    limit: Option<String>,
    offset: Option<String>,
    /// The reason of an audited read (exports); read by `WhyQuery`.
    #[allow(dead_code)]
    why: Option<String>,
}

pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<RawCaseQuery>, QueryRejection>,
) -> Result<Json<CaseList>, ApiError> {
    let Query(raw) = query.map_err(query_error)?;
    let filter = parse_filter(raw)?;
    Ok(Json(list_cases(state, caller, filter).await?))
}

/// One page of the ledger for `caller` (403 for a role that sees no case content).
pub(crate) async fn list_cases(
    state: AppState,
    caller: Caller,
    filter: CaseFilter,
) -> Result<CaseList, ApiError> {
    if caller.scope().cases().is_none() {
        return Err(ApiError::Forbidden("this role sees no case content"));
    }
    state
        .blocking(move |state| {
            let scope = caller.scope();
            let Some(scope) = scope.cases() else {
                return Err(ApiError::Forbidden("this role sees no case content"));
            };
            let today = beijing_ymd(state.now_ms());
            state.db().read(|conn| -> Result<_, ApiError> {
                let tx = conn.transaction()?;
                let (rows, total) = cases::list(&tx, scope, &filter, today)?;
                tx.commit()?;
                Ok(CaseList {
                    cases: rows.into_iter().map(|r| r.row).collect(),
                    total,
                })
            })
        })
        .await
}

/// A query string that does not parse (unknown parameter, repeated one): 400 with
/// serde's words, which name the parameter.
pub(crate) fn query_error(e: QueryRejection) -> ApiError {
    ApiError::BadRequest(e.body_text())
}

/// Today's date in Beijing as `YYYYMMDD`.
pub(crate) fn beijing_ymd(now_ms: i64) -> i64 {
    civil_from_days((now_ms + BEIJING_OFFSET_MS).div_euclid(DAY_MS))
        .map(|d| i64::from(d.year) * 10_000 + i64::from(d.month) * 100 + i64::from(d.day))
        .unwrap_or(0)
}

fn non_empty(value: Option<String>) -> Option<String> {
    value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

fn number<T: std::str::FromStr>(value: Option<String>, field: &str) -> Result<Option<T>, ApiError> {
    non_empty(value)
        .map(|v| {
            v.parse()
                .map_err(|_| ApiError::BadRequest(format!("{field} 应为非负整数")))
        })
        .transpose()
}

fn flag(value: Option<String>, field: &str) -> Result<Option<bool>, ApiError> {
    non_empty(value)
        .map(|v| match v.as_str() {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            _ => Err(ApiError::BadRequest(format!("{field} 应为 true 或 false"))),
        })
        .transpose()
}

/// A code of a known code list (`known` says whether it is one).
fn code(
    value: Option<String>,
    field: &str,
    known: fn(&str) -> bool,
) -> Result<Option<String>, ApiError> {
    let value = non_empty(value);
    if let Some(v) = &value {
        if !known(v) {
            return Err(ApiError::BadRequest(format!("{field} 不是有效的代码：{v}")));
        }
    }
    Ok(value)
}

/// The first millisecond (Beijing time) of a `YYYY-MM-DD` date.
fn day_start_ms(text: &str, field: &str) -> Result<i64, ApiError> {
    let bad = || ApiError::BadRequest(format!("{field} 应为日期 YYYY-MM-DD，收到：{text}"));
    let mut parts = text.splitn(3, '-');
    let (Some(y), Some(m), Some(d)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return Err(bad());
    }
    let date = Date::new(
        y.parse().map_err(|_| bad())?,
        m.parse().map_err(|_| bad())?,
        d.parse().map_err(|_| bad())?,
    )
    .ok_or_else(bad)?;
    Ok(days_from_civil(date) * DAY_MS - BEIJING_OFFSET_MS)
}

/// `<prefix>_from` and `<prefix>_to`: Beijing dates, both days included.
fn date_range(
    from: Option<String>,
    to: Option<String>,
    prefix: &str,
) -> Result<TimeRange, ApiError> {
    let from = non_empty(from)
        .map(|v| day_start_ms(&v, &format!("{prefix}_from")))
        .transpose()?;
    let before = non_empty(to)
        .map(|v| day_start_ms(&v, &format!("{prefix}_to")).map(|ms| ms + DAY_MS))
        .transpose()?;
    if let (Some(from), Some(before)) = (from, before) {
        if before <= from {
            return Err(ApiError::BadRequest(format!(
                "{prefix}_to 早于 {prefix}_from"
            )));
        }
    }
    Ok(TimeRange { from, before })
}

pub(crate) fn parse_filter(raw: RawCaseQuery) -> Result<CaseFilter, ApiError> {
    parse_filter_with(raw, DEFAULT_LIMIT, MAX_LIMIT)
}

/// The filter with its own paging bounds (exports take far more rows than a page).
pub(crate) fn parse_filter_with(
    raw: RawCaseQuery,
    default_limit: u32,
    max_limit: u32,
) -> Result<CaseFilter, ApiError> {
    let name = non_empty(raw.name);
    if name.as_ref().is_some_and(|n| n.chars().count() > MAX_NAME) {
        return Err(ApiError::BadRequest(format!("姓名最多{MAX_NAME}个字符")));
    }
    let id_suffix = non_empty(raw.id_suffix).map(|s| s.to_ascii_uppercase());
    if let Some(suffix) = &id_suffix {
        let ok = suffix.len() <= 4 && suffix.bytes().all(|b| b.is_ascii_digit() || b == b'X');
        if !ok {
            return Err(ApiError::BadRequest(
                "id_suffix 应为身份证号的末1至4位".to_string(),
            ));
        }
    }
    let unit = non_empty(raw.unit)
        .map(|u| {
            UnitId::new(u.clone())
                .map_err(|_| ApiError::BadRequest(format!("unit 不是有效的单位代码：{u}")))
        })
        .transpose()?;
    let status = non_empty(raw.status);
    if let Some(s) = &status {
        if CaseStatus::from_code(s).is_none() {
            return Err(ApiError::BadRequest(format!("status 不是有效的状态：{s}")));
        }
    }
    let origin = code(raw.origin, "origin", |c| Origin::from_code(c).is_some())?;
    let verifier = non_empty(raw.verifier)
        .map(|v| {
            v.parse::<UserId>()
                .map_err(|_| ApiError::BadRequest(format!("verifier 应为用户编号，收到：{v}")))
        })
        .transpose()?;
    let mut updated = date_range(raw.updated_from, raw.updated_to, "updated")?;
    let updated_since_ms = non_empty(raw.updated_since_ms)
        .map(|v| {
            v.parse::<i64>()
                .map_err(|_| ApiError::BadRequest("updated_since_ms 应为毫秒时间戳".to_string()))
        })
        .transpose()?;
    if let Some(since) = updated_since_ms {
        updated.from = Some(updated.from.map_or(since, |f| f.max(since)));
    }
    let sort = match non_empty(raw.sort) {
        None => SortKey::default(),
        Some(s) => SortKey::from_code(&s).ok_or_else(|| {
            let known: Vec<&str> = SortKey::ALL.iter().map(|k| k.code()).collect();
            ApiError::BadRequest(format!("sort 应为 {} 之一，收到：{s}", known.join("、")))
        })?,
    };
    let descending = match non_empty(raw.order).as_deref() {
        None => sort != SortKey::Name,
        Some("desc") => true,
        Some("asc") => false,
        Some(o) => {
            return Err(ApiError::BadRequest(format!(
                "order 应为 asc 或 desc，收到：{o}"
            )))
        }
    };
    let limit = number::<u32>(raw.limit, "limit")?
        .unwrap_or(default_limit)
        .min(max_limit);
    let offset = number::<u32>(raw.offset, "offset")?.unwrap_or(0);
    Ok(CaseFilter {
        unit,
        status,
        assistance: code(raw.assistance, "assistance", |c| {
            AssistanceType::from_code(c).is_some()
        })?,
        hardship: code(raw.hardship, "hardship", |c| {
            HardshipCause::from_code(c).is_some()
        })?,
        verifier,
        origin,
        urgent: flag(raw.urgent, "urgent")?,
        open_conflicts: flag(raw.open_conflicts, "open_conflicts")?,
        changed_after_signing: flag(raw.changed_after_signing, "changed_after_signing")?,
        created: date_range(raw.created_from, raw.created_to, "created")?,
        updated,
        visit: date_range(raw.visit_from, raw.visit_to, "visit")?,
        name,
        id_suffix,
        sort,
        descending,
        limit,
        offset,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(pairs: &[(&str, &str)]) -> RawCaseQuery {
        let query: String = pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        Query::<RawCaseQuery>::try_from_uri(&format!("/?{query}").parse().unwrap())
            .unwrap()
            .0
    }

    #[test]
    fn empty_values_mean_no_filter_and_limits_are_capped() {
        let filter = parse_filter(raw(&[
            ("name", ""),
            ("id_suffix", ""),
            ("updated_since_ms", ""),
            ("limit", "5000"),
        ]))
        .unwrap();
        assert_eq!(filter.name, None);
        assert_eq!(filter.id_suffix, None);
        assert_eq!(filter.updated, TimeRange::default());
        assert_eq!(filter.limit, MAX_LIMIT);
        assert_eq!(parse_filter(raw(&[])).unwrap().limit, DEFAULT_LIMIT);
    }

    #[test]
    fn bad_values_are_refused() {
        assert_eq!(
            parse_filter(raw(&[("id_suffix", "002x")]))
                .unwrap()
                .id_suffix,
            Some("002X".into())
        );
        for pairs in [
            [("id_suffix", "12345")],
            [("id_suffix", "ab")],
            [("limit", "-1")],
            [("offset", "x")],
            [("updated_since_ms", "yesterday")],
            [("sort", "salary")],
            [("order", "up")],
            [("created_from", "2026-02-30")],
            [("visit_to", "2026/11/01")],
            [("status", "nonsense")],
            [("origin", "walk_in")],
            [("urgent", "maybe")],
            [("verifier", "bob")],
            [("assistance", "Dibao")],
        ] {
            assert!(parse_filter(raw(&pairs)).is_err(), "{pairs:?}");
        }
    }

    #[test]
    fn dates_are_whole_beijing_days_and_sorts_have_a_direction() {
        let filter = parse_filter(raw(&[
            ("created_from", "2026-11-01"),
            ("created_to", "2026-11-30"),
            ("sort", "name"),
        ]))
        .unwrap();
        // 2026-11-01 00:00 in Beijing is 2026-10-31 16:00 UTC.
        assert_eq!(filter.created.from, Some(1_793_462_400_000));
        assert_eq!(filter.created.before, Some(1_793_462_400_000 + 30 * DAY_MS));
        assert_eq!(filter.sort, SortKey::Name);
        assert!(!filter.descending, "names sort A→Z unless asked");
        let newest = parse_filter(raw(&[("sort", "per_capita_income"), ("order", "asc")])).unwrap();
        assert_eq!(
            (newest.sort, newest.descending),
            (SortKey::PerCapitaIncome, false)
        );
        assert!(parse_filter(raw(&[])).unwrap().descending);
        assert!(parse_filter(raw(&[
            ("created_from", "2026-11-02"),
            ("created_to", "2026-11-01")
        ]))
        .is_err());
        assert_eq!(beijing_ymd(1_793_462_400_000), 20261101);
        assert_eq!(beijing_ymd(1_793_462_400_000 - 1), 20261031);
    }
}
