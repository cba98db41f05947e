//! Writes a typed value into an Automerge map by difference: only fields whose value
//! differs from what the document shows are written.
//!
//! Why not `autosurgeon::reconcile`: it puts every scalar again, and a put of the value
//! already shown supersedes the *other* concurrent values of a conflicting field, so
//! saving a form would silently drop the conflict. Writing only real differences keeps
//! every conflict until a person resolves it (see `conflicts::tests`).
//!
//! Values are taken through `serde_json::Value`: objects become Automerge maps, strings
//! scalar strings (never `Text`), integers `Int`, booleans and null as themselves. Arrays
//! are written whole when they differ (the schema keeps collections in maps keyed by id).

use automerge::transaction::Transactable;
use automerge::{AutomergeError, ObjId, ObjType, ReadDoc, ScalarValue, Value as AmValue};
use serde_json::{Map, Value};

pub(crate) fn write_map_diff<T: Transactable + ReadDoc>(
    tx: &mut T,
    obj: &ObjId,
    old: Option<&Map<String, Value>>,
    new: &Map<String, Value>,
) -> Result<(), AutomergeError> {
    for (key, value) in new {
        let before = old.and_then(|o| o.get(key));
        match value {
            Value::Object(child) => {
                let existing = match (before, tx.get(obj, key.as_str())?) {
                    (Some(Value::Object(b)), Some((AmValue::Object(ObjType::Map), id))) => {
                        Some((b, id))
                    }
                    _ => None,
                };
                match existing {
                    Some((b, id)) => write_map_diff(tx, &id, Some(b), child)?,
                    None => {
                        let id = tx.put_object(obj, key.as_str(), ObjType::Map)?;
                        write_map_diff(tx, &id, None, child)?;
                    }
                }
            }
            Value::Array(items) => {
                if before != Some(value) {
                    let id = tx.put_object(obj, key.as_str(), ObjType::List)?;
                    for (i, item) in items.iter().enumerate() {
                        insert_value(tx, &id, i, item)?;
                    }
                }
            }
            scalar => {
                if before != Some(scalar) {
                    tx.put(obj, key.as_str(), to_scalar(scalar))?;
                }
            }
        }
    }
    if let Some(old) = old {
        for key in old.keys().filter(|k| !new.contains_key(*k)) {
            tx.delete(obj, key.as_str())?;
        }
    }
    Ok(())
}

fn insert_value<T: Transactable + ReadDoc>(
    tx: &mut T,
    list: &ObjId,
    index: usize,
    value: &Value,
) -> Result<(), AutomergeError> {
    match value {
        Value::Object(map) => {
            let id = tx.insert_object(list, index, ObjType::Map)?;
            write_map_diff(tx, &id, None, map)
        }
        Value::Array(items) => {
            let id = tx.insert_object(list, index, ObjType::List)?;
            for (i, item) in items.iter().enumerate() {
                insert_value(tx, &id, i, item)?;
            }
            Ok(())
        }
        scalar => tx.insert(list, index, to_scalar(scalar)),
    }
}

fn to_scalar(value: &Value) -> ScalarValue {
    match value {
        Value::Null => ScalarValue::Null,
        Value::Bool(b) => ScalarValue::Boolean(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => ScalarValue::Int(i),
            None => match n.as_u64() {
                Some(u) => ScalarValue::Uint(u),
                None => ScalarValue::F64(n.as_f64().unwrap_or_default()),
            },
        },
        Value::String(s) => ScalarValue::Str(s.as_str().into()),
        Value::Array(_) | Value::Object(_) => unreachable!("handled by the caller"),
    }
}
