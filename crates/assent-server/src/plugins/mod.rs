//! The plugin registry: plugin folders (`plugin.json` + `render.html`) read once at start-up
//! from `<data-dir>/plugins/` and `--plugins-dir`. A folder that is not a valid plugin is
//! skipped with a log line saying why; it never stops the server.
//!
//! Like `files/`, this is a library: it imports nothing above it.

use assent_core::plugin::{MAX_RENDER_BYTES, Plugin, parse_manifest};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The plugins this server renders, by name.
#[derive(Clone, Debug, Default)]
pub struct Plugins {
    by_name: BTreeMap<String, Plugin>,
}

impl Plugins {
    /// Reads every plugin folder of `dirs` (missing directories are fine). On a name found
    /// twice, the first directory wins.
    pub fn load(dirs: &[PathBuf]) -> Plugins {
        let mut by_name = BTreeMap::new();
        for dir in dirs {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            let mut folders: Vec<PathBuf> = entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect();
            folders.sort();
            for folder in folders {
                match read_plugin(&folder) {
                    Ok(p) if by_name.contains_key(&p.manifest.name) => {
                        tracing::warn!(plugin = %p.manifest.name, folder = %folder.display(), "plugin skipped: a plugin of that name was loaded from an earlier directory");
                    }
                    Ok(p) => {
                        tracing::info!(plugin = %p.manifest.name, version = %p.manifest.version, "plugin loaded");
                        by_name.insert(p.manifest.name.clone(), p);
                    }
                    Err(why) => {
                        tracing::warn!(folder = %folder.display(), reason = %why, "plugin skipped");
                    }
                }
            }
        }
        Plugins { by_name }
    }

    pub fn get(&self, name: &str) -> Option<&Plugin> {
        self.by_name.get(name)
    }

    /// Every plugin, by name.
    pub fn all(&self) -> impl Iterator<Item = &Plugin> {
        self.by_name.values()
    }
}

fn read_plugin(folder: &Path) -> Result<Plugin, String> {
    let dir_name = folder
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or("the folder name is not UTF-8")?;
    let manifest = std::fs::read_to_string(folder.join("plugin.json"))
        .map_err(|e| format!("cannot read plugin.json: {e}"))?;
    let manifest = parse_manifest(&manifest, dir_name)?;
    let html_path = folder.join("render.html");
    let size = std::fs::metadata(&html_path)
        .map_err(|e| format!("cannot read render.html: {e}"))?
        .len();
    if size as usize > MAX_RENDER_BYTES {
        return Err(format!(
            "render.html is larger than {MAX_RENDER_BYTES} bytes"
        ));
    }
    let html = std::fs::read_to_string(&html_path)
        .map_err(|e| format!("render.html is not UTF-8 text: {e}"))?;
    Ok(Plugin { manifest, html })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, manifest: &str, html: Option<&str>) {
        let f = dir.join(name);
        std::fs::create_dir_all(&f).unwrap();
        std::fs::write(f.join("plugin.json"), manifest).unwrap();
        if let Some(h) = html {
            std::fs::write(f.join("render.html"), h).unwrap();
        }
    }

    #[test]
    fn bad_plugins_are_skipped_and_good_ones_load() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let ok = |n: &str| format!(r#"{{"name":"{n}","displayName":"D","version":"1.0.0"}}"#);
        write(a.path(), "good", &ok("good"), Some("<p>hi</p>"));
        write(a.path(), "no-html", &ok("no-html"), None);
        write(a.path(), "broken", "{not json", Some("x"));
        write(a.path(), "renamed", &ok("other"), Some("x"));
        write(b.path(), "good", &ok("good"), Some("<p>second</p>"));
        write(
            b.path(),
            "extra",
            &ok("extra"),
            Some(&"x".repeat(MAX_RENDER_BYTES + 1)),
        );
        let p = Plugins::load(&[a.path().into(), b.path().into(), "/nonexistent".into()]);
        let names: Vec<&str> = p.all().map(|p| p.manifest.name.as_str()).collect();
        assert_eq!(names, ["good"]);
        assert_eq!(
            p.get("good").unwrap().html,
            "<p>hi</p>",
            "the first directory wins"
        );
    }
}
