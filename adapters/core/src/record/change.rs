//! Changes to a record's JSON: set or remove the value at a JSON pointer. Conformity
//! scenarios and the CDA corpus derive the records they need from the published examples
//! this way, so that each one states only what differs.

use serde::Deserialize;
use serde_json::Value;

/// A change to the record: set the value at a JSON pointer, or remove it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Change {
    pub pointer: String,
    #[serde(default)]
    pub value: Option<Value>,
    #[serde(default)]
    pub remove: bool,
}

impl Change {
    /// Sets or removes the value at the pointer; the parent must exist. `-` as the last
    /// token appends to an array (RFC 6901).
    pub fn apply(&self, value: &mut Value) -> Result<(), String> {
        let (parent, key) = self
            .pointer
            .rsplit_once('/')
            .ok_or_else(|| format!("{:?} is not a JSON pointer", self.pointer))?;
        let key = key.replace("~1", "/").replace("~0", "~");
        let target = value
            .pointer_mut(parent)
            .ok_or_else(|| format!("{parent:?} is not in the record"))?;
        let new = match (&self.value, self.remove) {
            (_, true) => None,
            (Some(value), false) => Some(value.clone()),
            (None, false) => return Err(format!("{}: a value or remove = true", self.pointer)),
        };
        match (target, new) {
            (Value::Object(map), Some(new)) => {
                map.insert(key, new);
            }
            (Value::Object(map), None) => {
                map.remove(&key);
            }
            (Value::Array(items), Some(new)) if key == "-" => items.push(new),
            (Value::Array(items), new) => {
                let index: usize = key
                    .parse()
                    .map_err(|_| format!("{}: an array index is expected", self.pointer))?;
                if index >= items.len() {
                    return Err(format!("{}: no such item", self.pointer));
                }
                match new {
                    Some(new) => items[index] = new,
                    None => {
                        items.remove(index);
                    }
                }
            }
            _ => return Err(format!("{parent:?} is neither an object nor an array")),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_set_and_remove_by_pointer() {
        let mut value = serde_json::json!({"a": {"b": 1}, "list": [1, 2]});
        let change = |pointer: &str, value: Option<Value>, remove: bool| Change {
            pointer: pointer.into(),
            value,
            remove,
        };
        change("/a/c", Some(Value::String("x".into())), false)
            .apply(&mut value)
            .unwrap();
        change("/a/b", None, true).apply(&mut value).unwrap();
        change("/list/0", None, true).apply(&mut value).unwrap();
        assert_eq!(value, serde_json::json!({"a": {"c": "x"}, "list": [2]}));
        assert!(change("/nope/x", None, true).apply(&mut value).is_err());
        assert!(change("/list/9", None, true).apply(&mut value).is_err());
        assert!(change("/a/d", None, false).apply(&mut value).is_err());
    }
}
