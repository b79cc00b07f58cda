//! Everything a Janus of ours needs before it starts, in a temporary directory of the run: the
//! loopback shim built from `loadtest/shim/no_loopback_flag.c`, a plugins folder holding only
//! the VideoRoom plugin and a transports folder holding only the WebSocket transport (so nothing
//! else is loaded, not even disabled), empty event-handler and logger folders, and the
//! configuration files.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};

/// The shim's source, kept in the repository and compiled on the machine that runs Janus.
const SHIM_SOURCE: &str = include_str!("../../../shim/no_loopback_flag.c");
/// Janus's media ports: fixed, and below Linux's ephemeral range where our peers' sockets live.
pub const RTP_PORTS: &str = "20000-29999";

/// A directory removed (with its contents) when dropped.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    fn new(label: &str) -> anyhow::Result<TempDir> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path =
            std::env::temp_dir().join(format!("loadtest-{label}-{}-{nanos}", std::process::id()));
        std::fs::create_dir(&path).with_context(|| format!("creating {}", path.display()))?;
        crate::process::register_scratch(&path);
        Ok(TempDir(path))
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
        crate::process::forget_scratch(&self.0);
    }
}

/// A Janus ready to be started.
#[derive(Debug)]
pub struct Prepared {
    pub dir: TempDir,
    pub binary: PathBuf,
    pub config: PathBuf,
    pub shim: PathBuf,
}

/// How the Janus of a run is set up.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `--janus`, else `janus` from `PATH`.
    pub binary: Option<PathBuf>,
    pub ws_port: u16,
    /// Janus's `event_loops` (0: its default, one loop thread per handle).
    pub event_loops: usize,
}

/// Finds Janus and its plugins, builds the shim and writes the configuration.
pub fn prepare(settings: &Settings) -> anyhow::Result<Prepared> {
    let binary = match &settings.binary {
        Some(path) if path.is_file() => path.clone(),
        Some(path) => bail!(
            "Janus is not installed at {} (no such file): install it with `apt-get install -y janus` \
             or give --janus PATH",
            path.display()
        ),
        None => find_in_path("janus").context(
            "Janus is not installed (no `janus` in PATH): install it with `apt-get install -y janus` \
             or give --janus PATH",
        )?,
    };
    let lib = library_dir(&binary)?;
    let dir = TempDir::new("janus")?;
    let shim = build_shim(dir.path())?;
    let root = dir.path();
    for folder in ["conf", "plugins", "transports", "events", "loggers"] {
        std::fs::create_dir(root.join(folder))?;
    }
    for (folder, library) in [
        ("plugins", "libjanus_videoroom.so"),
        ("transports", "libjanus_websockets.so"),
    ] {
        std::os::unix::fs::symlink(
            lib.join(folder).join(library),
            root.join(folder).join(library),
        )?;
    }
    let conf = root.join("conf");
    let config = conf.join("janus.jcfg");
    std::fs::write(&config, core_config(root, settings.event_loops))?;
    std::fs::write(
        conf.join("janus.transport.websockets.jcfg"),
        websockets_config(settings.ws_port),
    )?;
    std::fs::write(conf.join("janus.plugin.videoroom.jcfg"), VIDEOROOM_CONFIG)?;
    Ok(Prepared {
        dir,
        binary,
        config,
        shim,
    })
}

/// Debian puts the plugins in `/usr/lib/<multiarch>/janus`; a source build in `<prefix>/lib/janus`.
fn library_dir(binary: &Path) -> anyhow::Result<PathBuf> {
    let binary = std::fs::canonicalize(binary).unwrap_or_else(|_| binary.to_path_buf());
    let prefix = binary
        .parent()
        .and_then(Path::parent)
        .unwrap_or(Path::new("/usr"));
    let multiarch = format!("{}-linux-gnu", std::env::consts::ARCH);
    let candidates = [
        prefix.join("lib").join(multiarch).join("janus"),
        prefix.join("lib").join("janus"),
    ];
    candidates
        .iter()
        .find(|dir| {
            dir.join("plugins/libjanus_videoroom.so").exists()
                && dir.join("transports/libjanus_websockets.so").exists()
        })
        .cloned()
        .with_context(|| {
            format!(
                "Janus at {} has no VideoRoom plugin and WebSocket transport in {}: is the `janus` \
                 package complete?",
                binary.display(),
                candidates.map(|c| c.display().to_string()).join(" or ")
            )
        })
}

/// Compiles the `getifaddrs` shim into the run's directory.
fn build_shim(dir: &Path) -> anyhow::Result<PathBuf> {
    let compiler = find_in_path("cc").context(
        "no C compiler (`cc`) to build the getifaddrs shim Janus needs on loopback \
         (loadtest/shim/no_loopback_flag.c): install one with `apt-get install -y gcc`",
    )?;
    let source = dir.join("no_loopback_flag.c");
    let library = dir.join("no_loopback_flag.so");
    std::fs::write(&source, SHIM_SOURCE)?;
    let out = Command::new(&compiler)
        .args(["-shared", "-fPIC", "-O2", "-o"])
        .arg(&library)
        .arg(&source)
        .arg("-ldl")
        .output()
        .with_context(|| format!("running {}", compiler.display()))?;
    if !out.status.success() {
        bail!(
            "{} could not build the loopback shim: {}",
            compiler.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(library)
}

fn find_in_path(program: &str) -> anyhow::Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
        .with_context(|| format!("`{program}` not found in PATH"))
}

/// The core: our folders, warnings and worse only, loopback only, full ICE (not ICE-lite), no
/// IPv6, fixed media ports.
fn core_config(root: &Path, event_loops: usize) -> String {
    let folder = |name: &str| root.join(name).display().to_string();
    let loops = if event_loops > 0 {
        format!("\tevent_loops = {event_loops}\n")
    } else {
        String::new()
    };
    format!(
        "general: {{\n\
         \tconfigs_folder = \"{conf}\"\n\
         \tplugins_folder = \"{plugins}\"\n\
         \ttransports_folder = \"{transports}\"\n\
         \tevents_folder = \"{events}\"\n\
         \tloggers_folder = \"{loggers}\"\n\
         \tdebug_level = 3\n\
         \tdebug_colors = false\n\
         \tinterface = \"127.0.0.1\"\n\
         \tsession_timeout = 60\n\
         {loops}}}\n\
         media: {{\n\
         \tipv6 = false\n\
         \trtp_port_range = \"{RTP_PORTS}\"\n\
         }}\n\
         nat: {{\n\
         \tnice_debug = false\n\
         \tice_lite = false\n\
         \tice_enforce_list = \"127.0.0.1\"\n\
         }}\n\
         events: {{\n\
         \tbroadcast = false\n\
         }}\n",
        conf = folder("conf"),
        plugins = folder("plugins"),
        transports = folder("transports"),
        events = folder("events"),
        loggers = folder("loggers"),
    )
}

/// The Janus API over plain WebSocket on loopback; no admin API.
fn websockets_config(port: u16) -> String {
    format!(
        "general: {{\n\
         \tjson = \"compact\"\n\
         \tws = true\n\
         \tws_port = {port}\n\
         \tws_ip = \"127.0.0.1\"\n\
         \twss = false\n\
         }}\n\
         admin: {{\n\
         \tadmin_ws = false\n\
         \tadmin_wss = false\n\
         }}\n"
    )
}

/// No rooms from the file (the load test creates its own), no event handlers.
const VIDEOROOM_CONFIG: &str = "general: {\n\tevents = false\n}\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_core_config_keeps_janus_on_loopback_and_quiet() {
        let text = core_config(Path::new("/tmp/x"), 0);
        assert!(text.contains("plugins_folder = \"/tmp/x/plugins\""));
        assert!(text.contains("debug_level = 3"));
        assert!(text.contains("ice_enforce_list = \"127.0.0.1\""));
        assert!(text.contains("rtp_port_range = \"20000-29999\""));
        assert!(!text.contains("event_loops"));
        assert!(core_config(Path::new("/tmp/x"), 2).contains("event_loops = 2"));
        let ws = websockets_config(18188);
        assert!(ws.contains("ws_port = 18188") && ws.contains("ws_ip = \"127.0.0.1\""));
        assert!(ws.contains("admin_ws = false"));
    }

    #[test]
    fn the_shim_source_is_embedded() {
        assert!(SHIM_SOURCE.contains("IFF_LOOPBACK"));
    }
}
