//! The image configuration as JSON, edited in place. It is kept as a
//! `serde_json` object rather than oci-spec's typed struct so that docker's
//! keys the OCI schema lacks (`Healthcheck`, `Shell`, ...) survive in
//! OCI-format images, where docker and podman still honour them.

use serde_json::{json, Map, Value};

#[derive(Debug, Clone, PartialEq)]
pub struct ImageConfig {
    pub json: Map<String, Value>,
}

/// docker's Healthcheck durations are nanoseconds; 0 means "inherit the default".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthcheckConfig {
    pub test: Vec<String>,
    pub interval: u64,
    pub timeout: u64,
    pub start_period: u64,
    pub start_interval: u64,
    pub retries: Option<u32>,
}

impl ImageConfig {
    /// An empty image for `FROM scratch` on `platform`.
    pub fn scratch(platform: &hoist_store::Platform) -> ImageConfig {
        let mut value = json!({
            "architecture": platform.architecture,
            "os": platform.os,
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": []},
            "history": [],
        });
        if let Some(v) = &platform.variant {
            value["variant"] = json!(v);
        }
        ImageConfig {
            json: value.as_object().cloned().expect("object"),
        }
    }

    /// A base image's config; anything but a JSON object is refused.
    pub fn from_slice(bytes: &[u8]) -> Result<ImageConfig, serde_json::Error> {
        let mut json: Map<String, Value> = serde_json::from_slice(bytes)?;
        if !json.get("config").is_some_and(Value::is_object) {
            json.insert("config".into(), json!({}));
        }
        if !json.get("history").is_some_and(Value::is_array) {
            json.insert("history".into(), json!([]));
        }
        Ok(ImageConfig { json })
    }

    pub fn to_vec(&self) -> Vec<u8> {
        serde_json::to_vec(&self.json).expect("JSON values serialize")
    }

    fn cfg(&mut self) -> &mut Map<String, Value> {
        self.json
            .entry("config")
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("config is an object")
    }

    fn cfg_get(&self, key: &str) -> Option<&Value> {
        self.json.get("config").and_then(|c| c.get(key))
    }

    /// `Env` as (name, value) pairs, in order.
    pub fn env(&self) -> Vec<(String, String)> {
        self.cfg_get("Env")
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|kv| match kv.split_once('=') {
                        Some((k, v)) => (k.to_string(), v.to_string()),
                        None => (kv.to_string(), String::new()),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn set_env(&mut self, name: &str, value: &str) {
        let mut env = self.env();
        match env.iter_mut().find(|(k, _)| k == name) {
            Some(slot) => slot.1 = value.to_string(),
            None => env.push((name.to_string(), value.to_string())),
        }
        let list: Vec<Value> = env.iter().map(|(k, v)| json!(format!("{k}={v}"))).collect();
        self.cfg().insert("Env".into(), Value::Array(list));
    }

    pub fn set_strings(&mut self, key: &str, values: Option<&[String]>) {
        match values {
            Some(v) => {
                self.cfg().insert(key.into(), json!(v));
            }
            None => {
                self.cfg().remove(key);
            }
        }
    }

    /// Removes a key of `config`.
    pub fn remove(&mut self, key: &str) {
        self.cfg().remove(key);
    }

    pub fn strings(&self, key: &str) -> Option<Vec<String>> {
        let items = self.cfg_get(key)?.as_array()?;
        Some(
            items
                .iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect(),
        )
    }

    pub fn set_string(&mut self, key: &str, value: &str) {
        self.cfg().insert(key.into(), json!(value));
    }

    pub fn string(&self, key: &str) -> Option<String> {
        self.cfg_get(key)?.as_str().map(String::from)
    }

    /// Adds a key to one of the set-like objects (`ExposedPorts`, `Volumes`).
    pub fn add_to_set(&mut self, key: &str, item: &str) {
        let set = self.cfg().entry(key).or_insert_with(|| json!({}));
        if !set.is_object() {
            *set = json!({});
        }
        set.as_object_mut()
            .expect("object")
            .insert(item.into(), json!({}));
    }

    pub fn set_label(&mut self, key: &str, value: &str) {
        let labels = self.cfg().entry("Labels").or_insert_with(|| json!({}));
        if !labels.is_object() {
            *labels = json!({});
        }
        labels
            .as_object_mut()
            .expect("object")
            .insert(key.into(), json!(value));
    }

    pub fn set_healthcheck(&mut self, check: &HealthcheckConfig) {
        let mut h = Map::new();
        h.insert("Test".into(), json!(check.test));
        for (key, ns) in [
            ("Interval", check.interval),
            ("Timeout", check.timeout),
            ("StartPeriod", check.start_period),
            ("StartInterval", check.start_interval),
        ] {
            if ns != 0 {
                h.insert(key.into(), json!(ns));
            }
        }
        if let Some(r) = check.retries {
            h.insert("Retries".into(), json!(r));
        }
        self.cfg().insert("Healthcheck".into(), Value::Object(h));
    }

    pub fn diff_ids(&self) -> Vec<String> {
        self.json
            .get("rootfs")
            .and_then(|r| r.get("diff_ids"))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn push_layer(&mut self, diff_id: &str) {
        let mut ids = self.diff_ids();
        ids.push(diff_id.to_string());
        self.json
            .insert("rootfs".into(), json!({"type": "layers", "diff_ids": ids}));
    }

    /// Appends a history entry (`empty_layer` when the step made no layer).
    pub fn push_history(&mut self, created: &str, created_by: &str, empty_layer: bool) {
        let mut entry = Map::new();
        entry.insert("created".into(), json!(created));
        entry.insert("created_by".into(), json!(created_by));
        entry.insert("comment".into(), json!("hoist build"));
        if empty_layer {
            entry.insert("empty_layer".into(), json!(true));
        }
        let history = self.json.entry("history").or_insert_with(|| json!([]));
        if let Some(list) = history.as_array_mut() {
            list.push(Value::Object(entry));
        }
    }

    pub fn set_created(&mut self, created: &str) {
        self.json.insert("created".into(), json!(created));
    }
}

/// RFC 3339 time for seconds since the epoch (UTC), without a date crate.
pub fn rfc3339(epoch_seconds: i64) -> String {
    let days = epoch_seconds.div_euclid(86_400);
    let secs = epoch_seconds.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn env_and_healthcheck_keys() {
        let mut c = ImageConfig::scratch(&"linux/amd64".parse().unwrap());
        c.set_env("PATH", "/bin");
        c.set_env("A", "1=2");
        c.set_env("PATH", "/usr/bin");
        assert_eq!(
            c.env(),
            vec![
                ("PATH".into(), "/usr/bin".into()),
                ("A".into(), "1=2".into())
            ]
        );
        c.set_healthcheck(&HealthcheckConfig {
            test: vec!["CMD-SHELL".into(), "true".into()],
            interval: 5_000_000_000,
            timeout: 0,
            start_period: 0,
            start_interval: 0,
            retries: Some(3),
        });
        let v: Value = serde_json::from_slice(&c.to_vec()).unwrap();
        assert_eq!(
            v["config"]["Healthcheck"]["Interval"],
            json!(5_000_000_000u64)
        );
        assert_eq!(v["config"]["Healthcheck"]["Retries"], json!(3));
        assert!(v["config"]["Healthcheck"].get("Timeout").is_none());
        c.push_layer("sha256:aa");
        c.push_history("1970-01-01T00:00:00Z", "ENV A=1", true);
        let v: Value = serde_json::from_slice(&c.to_vec()).unwrap();
        assert_eq!(v["rootfs"]["diff_ids"], json!(["sha256:aa"]));
        assert_eq!(v["history"][0]["empty_layer"], json!(true));
    }
}
