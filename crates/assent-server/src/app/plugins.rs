//! Plugins as the use cases see them: the registry, and the check of the data a message or
//! a freeform review hands to a plugin against the plugin's `inputSchema`.

use super::{App, AppError};
use assent_core::plugin::{Plugin, validate};
use assent_core::validate::Checker;
use serde_json::Value;

impl App {
    /// The plugins loaded at start-up.
    pub fn plugins(&self) -> &crate::plugins::Plugins {
        &self.settings.plugins
    }

    pub fn plugin(&self, name: &str) -> Result<&Plugin, AppError> {
        self.settings
            .plugins
            .get(name)
            .ok_or_else(|| AppError::PluginNotFound(name.to_owned()))
    }

    /// A message names its renderer in `metadata.plugin`, a freeform review in
    /// `payload.plugin` (which, as in Placet, also sets `metadata.plugin` when unset). When
    /// the plugin is installed and declares an `inputSchema`, the data must match it: the
    /// review's payload, or the message's metadata (`plugin` and `webhookUrl` aside).
    /// Plugins that are not installed here are not checked (the dashboard shows the data).
    pub(super) fn check_plugin_data(
        &self,
        c: &mut Checker,
        metadata: &mut Option<Value>,
        review: Option<&Value>,
    ) {
        let freeform = review.filter(|r| r.get("type").and_then(Value::as_str) == Some("freeform"));
        let payload = freeform
            .and_then(|r| r.get("payload"))
            .filter(|p| p.is_object());
        if let Some(name) = payload
            .and_then(|p| p.get("plugin"))
            .and_then(Value::as_str)
        {
            let meta = metadata.get_or_insert_with(|| Value::Object(Default::default()));
            if let Some(m) = meta.as_object_mut() {
                m.entry("plugin").or_insert_with(|| Value::from(name));
            }
            let data = without(payload.expect("checked"), &["plugin"]);
            self.check_against(c, name, &data, "review.payload");
            return;
        }
        let named = metadata
            .as_ref()
            .and_then(|m| m.get("plugin"))
            .and_then(Value::as_str);
        if let (Some(name), Some(m)) = (named, metadata.as_ref()) {
            let data = without(m, &["plugin", "webhookUrl"]);
            self.check_against(c, name, &data, "metadata");
        }
    }

    fn check_against(&self, c: &mut Checker, name: &str, data: &Value, path: &str) {
        let Some(schema) = self
            .plugins()
            .get(name)
            .and_then(|p| p.manifest.input_schema.as_ref())
        else {
            return;
        };
        let mut errors = Vec::new();
        validate(schema, data, path, &mut errors);
        for e in errors {
            c.fail(e.path, e.message);
        }
    }
}

fn without(v: &Value, keys: &[&str]) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.iter()
                .filter(|(k, _)| !keys.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}
