//! Plugins: custom renderers for freeform reviews and messages (Placet's format). A plugin
//! is a folder with `plugin.json` (the manifest) and `render.html`; a message names one in
//! `metadata.plugin`, a freeform review in `payload.plugin`. A manifest may declare an
//! `inputSchema` (a JSON Schema subset) that the data must match.

use crate::validate::FieldError;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Largest `render.html` accepted.
pub const MAX_RENDER_BYTES: usize = 512 * 1024;

/// Placet's manifest (`plugin.json`); unknown keys are kept and served back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub name: String,
    pub display_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_schema: Option<Value>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A loaded plugin: its manifest and the HTML it renders.
#[derive(Clone, Debug, PartialEq)]
pub struct Plugin {
    pub manifest: Manifest,
    pub html: String,
}

/// A plugin name: 1–64 lowercase letters, digits and dashes (it is a folder and a URL segment).
pub fn is_plugin_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
}

/// Reads a manifest found in folder `dir_name`, or says why it is not one.
pub fn parse_manifest(json: &str, dir_name: &str) -> Result<Manifest, String> {
    let m: Manifest =
        serde_json::from_str(json).map_err(|e| format!("plugin.json is not a manifest: {e}"))?;
    if m.name != dir_name {
        return Err(format!(
            "name {:?} must equal its folder's name {dir_name:?}",
            m.name
        ));
    }
    if !is_plugin_name(&m.name) {
        return Err("name must be 1-64 lowercase letters, digits and dashes".into());
    }
    if m.display_name.trim().is_empty() || m.version.trim().is_empty() {
        return Err("displayName and version must not be empty".into());
    }
    if let Some(s) = &m.input_schema {
        check_schema(s, "inputSchema")?;
    }
    Ok(m)
}

const TYPES: &[&str] = &[
    "object", "array", "string", "number", "integer", "boolean", "null",
];

/// The schema keywords [`validate`] understands are well-formed (others are ignored).
fn check_schema(s: &Value, path: &str) -> Result<(), String> {
    let Value::Object(o) = s else {
        return Err(format!("{path} must be an object"));
    };
    match o.get("type") {
        None => {}
        Some(Value::String(t)) if TYPES.contains(&t.as_str()) => {}
        Some(_) => return Err(format!("{path}.type must be one of {}", TYPES.join(", "))),
    }
    if let Some(p) = o.get("properties") {
        let Value::Object(props) = p else {
            return Err(format!("{path}.properties must be an object"));
        };
        for (k, v) in props {
            check_schema(v, &format!("{path}.properties.{k}"))?;
        }
    }
    if let Some(items) = o.get("items") {
        check_schema(items, &format!("{path}.items"))?;
    }
    if o.get("required")
        .is_some_and(|r| !r.as_array().is_some_and(|a| a.iter().all(Value::is_string)))
    {
        return Err(format!("{path}.required must be an array of names"));
    }
    if o.get("enum").is_some_and(|e| !e.is_array()) {
        return Err(format!("{path}.enum must be an array"));
    }
    Ok(())
}

/// Checks `v` against `schema` (type, properties, required, additionalProperties: false,
/// items, enum, minLength/maxLength, minimum/maximum, minItems/maxItems), naming each
/// mismatch by its path under `path`.
pub fn validate(schema: &Value, v: &Value, path: &str, out: &mut Vec<FieldError>) {
    let Value::Object(s) = schema else { return };
    let mut fail = |message: String| {
        out.push(FieldError {
            path: path.to_owned(),
            message,
        })
    };
    if let Some(Value::String(t)) = s.get("type") {
        let ok = match t.as_str() {
            "object" => v.is_object(),
            "array" => v.is_array(),
            "string" => v.is_string(),
            "number" => v.is_number(),
            "integer" => v.as_f64().is_some_and(|n| n.fract() == 0.0),
            "boolean" => v.is_boolean(),
            "null" => v.is_null(),
            _ => true,
        };
        if !ok {
            return fail(format!("must be of type {t}"));
        }
    }
    if let Some(Value::Array(options)) = s.get("enum")
        && !options.contains(v)
    {
        fail(format!("must be one of {}", Value::Array(options.clone())));
    }
    let bound = |k: &str| s.get(k).and_then(Value::as_f64);
    match v {
        Value::String(text) => {
            let n = text.chars().count() as f64;
            if bound("minLength").is_some_and(|m| n < m)
                || bound("maxLength").is_some_and(|m| n > m)
            {
                fail("has the wrong length".into());
            }
        }
        Value::Number(num) => {
            let n = num.as_f64().unwrap_or(0.0);
            if bound("minimum").is_some_and(|m| n < m) || bound("maximum").is_some_and(|m| n > m) {
                fail("is out of range".into());
            }
        }
        Value::Array(items) => {
            let n = items.len() as f64;
            if bound("minItems").is_some_and(|m| n < m) || bound("maxItems").is_some_and(|m| n > m)
            {
                fail("has the wrong number of items".into());
            }
            if let Some(item) = s.get("items") {
                for (i, x) in items.iter().enumerate() {
                    validate(item, x, &format!("{path}[{i}]"), out);
                }
            }
        }
        Value::Object(fields) => validate_object(s, fields, path, out),
        _ => {}
    }
}

fn validate_object(
    s: &Map<String, Value>,
    fields: &Map<String, Value>,
    path: &str,
    out: &mut Vec<FieldError>,
) {
    let at = |k: &str| {
        if path.is_empty() {
            k.to_owned()
        } else {
            format!("{path}.{k}")
        }
    };
    let props = s.get("properties").and_then(Value::as_object);
    for name in s
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(name) = name.as_str()
            && !fields.contains_key(name)
        {
            out.push(FieldError {
                path: at(name),
                message: "is required".into(),
            });
        }
    }
    for (k, x) in fields {
        match props.and_then(|p| p.get(k)) {
            Some(sub) => validate(sub, x, &at(k), out),
            None if s.get("additionalProperties") == Some(&Value::Bool(false)) => {
                out.push(FieldError {
                    path: at(k),
                    message: "is not a field of this plugin's data".into(),
                })
            }
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn errors(schema: Value, v: Value) -> Vec<(String, String)> {
        let mut out = Vec::new();
        validate(&schema, &v, "review.payload", &mut out);
        out.into_iter().map(|e| (e.path, e.message)).collect()
    }

    #[test]
    fn data_is_checked_against_the_declared_schema_with_paths() {
        let schema = json!({"type": "object", "required": ["status"], "additionalProperties": false, "properties": {
            "status": {"enum": ["ok", "degraded", "down"]},
            "nodes": {"type": "array", "maxItems": 2, "items": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string", "minLength": 1}}}},
            "uptime": {"type": "number", "minimum": 0, "maximum": 100},
            "plugin": {"type": "string"}
        }});
        assert!(errors(schema.clone(), json!({"status": "ok", "plugin": "x"})).is_empty());
        let got = errors(
            schema,
            json!({"nodes": [{"id": ""}, {}, {"id": "c"}], "uptime": 101, "extra": 1}),
        );
        let paths: Vec<&str> = got.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                "review.payload.status",
                "review.payload.nodes",
                "review.payload.nodes[0].id",
                "review.payload.nodes[1].id",
                "review.payload.uptime",
                "review.payload.extra"
            ]
        );
        assert_eq!(errors(json!({"type": "integer"}), json!(1.5)).len(), 1);
        assert!(errors(json!({"type": "integer"}), json!(2)).is_empty());
    }

    #[test]
    fn manifests_are_checked_before_a_plugin_is_used() {
        let ok = r#"{"name":"status-badge","displayName":"Status","version":"1.0.0","icon":"./i.svg",
                    "inputSchema":{"type":"object","properties":{"s":{"type":"string"}}}}"#;
        let m = parse_manifest(ok, "status-badge").unwrap();
        assert_eq!(m.extra["icon"], "./i.svg", "unknown keys are kept");
        assert!(parse_manifest(ok, "other").unwrap_err().contains("folder"));
        assert!(parse_manifest("{", "x").is_err());
        let bad_schema =
            r#"{"name":"x","displayName":"X","version":"1","inputSchema":{"type":"thing"}}"#;
        assert!(
            parse_manifest(bad_schema, "x")
                .unwrap_err()
                .contains("inputSchema.type")
        );
        let bad_name = r#"{"name":"../x","displayName":"X","version":"1"}"#;
        assert!(parse_manifest(bad_name, "../x").is_err());
        assert!(is_plugin_name("kroki-diagram") && !is_plugin_name("Kroki") && !is_plugin_name(""));
    }
}
