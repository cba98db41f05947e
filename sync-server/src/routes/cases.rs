//! `GET /api/v1/cases`: the case ledger of the caller's scope, filtered and paged, newest
//! first, read from the materialised columns (no document is loaded).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use hecha_shared::api::CaseList;
use serde::Deserialize;

use crate::auth::Caller;
use crate::db::cases::{self, CaseFilter};
use crate::error::ApiError;
use crate::AppState;

pub(crate) const DEFAULT_LIMIT: u32 = 100;
pub(crate) const MAX_LIMIT: u32 = 1000;
/// Longest name filter (characters).
const MAX_NAME: usize = 50;

/// The query string as sent: every field text, so `name=&limit=` (empty values) means
/// "no filter" rather than an error.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct RawCaseQuery {
    name: Option<String>,
    id_suffix: Option<String>,
    updated_since_ms: Option<String>,
    limit: Option<String>,
    offset: Option<String>,
}

pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<RawCaseQuery>, QueryRejection>,
) -> Result<Json<CaseList>, ApiError> {
    let Query(raw) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let filter = parse_filter(raw)?;
    let scope = caller.scope();
    if scope.cases().is_none() {
        return Err(ApiError::Forbidden("this role sees no case content"));
    }
    let list = state
        .blocking(move |state| {
            let Some(scope) = scope.cases() else {
                return Err(ApiError::Forbidden("this role sees no case content"));
            };
            state.db().read(|conn| -> Result<_, ApiError> {
                let tx = conn.transaction()?;
                let (cases, total) = cases::list(&tx, scope, &filter)?;
                tx.commit()?;
                Ok(CaseList { cases, total })
            })
        })
        .await?;
    Ok(Json(list))
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
    let updated_since_ms = non_empty(raw.updated_since_ms)
        .map(|v| {
            v.parse::<i64>()
                .map_err(|_| ApiError::BadRequest("updated_since_ms 应为毫秒时间戳".to_string()))
        })
        .transpose()?;
    let limit = number::<u32>(raw.limit, "limit")?
        .unwrap_or(default_limit)
        .min(max_limit);
    let offset = number::<u32>(raw.offset, "offset")?.unwrap_or(0);
    Ok(CaseFilter {
        name,
        id_suffix,
        updated_since_ms,
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
        assert_eq!(filter.updated_since_ms, None);
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
        ] {
            assert!(parse_filter(raw(&pairs)).is_err(), "{pairs:?}");
        }
    }
}
