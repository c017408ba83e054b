//! The per-container monitor (like conmon): starts the container, owns its
//! stdio and writes the json log, records state.json, runs health checks and
//! port proxies, and answers the CLI over a unix socket. `hoist run -d` runs it
//! as a detached process (`hoist __monitor <id>`); a foreground `hoist run`
//! runs the very same code in the CLI process with the terminal attached, so
//! logs and state look the same either way.

pub mod attach;
pub mod control;
pub mod detached;
mod healthloop;
mod podwatch;

use nix::sys::signal::Signal;
use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::cgroup::{Cgroup, Limits};
use crate::container::{self, state, ContainerRecord, State, Status};
use crate::core::netns;
use crate::core::spawn::spawn_begin_with;
use crate::core::{container_plan, wait_exit_code, PlanOptions};
use crate::error::{IoContext, Result, RuntimeError};
use crate::logs::LogWriter;
use crate::overlay::container_overlay;

pub use attach::Attach;
pub use healthloop::run_check;

/// What the monitor's threads share.
pub struct Shared {
    pub root: PathBuf,
    pub rec: ContainerRecord,
    pub dir: PathBuf,
    pid: Mutex<i32>,
    exit: Mutex<Option<i32>>,
    exit_cv: Condvar,
    busy: Mutex<i32>,
    busy_cv: Condvar,
    pub state: Mutex<State>,
    /// With -t and a terminal attached: the pty master, resized on SIGWINCH.
    pub console: Option<File>,
    /// A detached `-i` container's stdin writer, kept so that it does not
    /// read EOF; dropped on request (`close-stdin`: the stdin of a CLI
    /// attached to `run --sig-proxy=false -i` ended).
    stdin_keepalive: Mutex<Option<OwnedFd>>,
}

impl Shared {
    fn pid(&self) -> i32 {
        *self.pid.lock().unwrap()
    }

    pub fn signal(&self, sig: i32) -> std::result::Result<(), String> {
        let pid = self.pid();
        if pid <= 0 || self.exit.lock().unwrap().is_some() {
            return Err(format!("container {} is not running", self.rec.name));
        }
        // SAFETY: signalling the container's PID 1, our own child (not reaped
        // until `exit` is set, so the PID cannot have been reused).
        if unsafe { libc::kill(pid, sig) } < 0 {
            return Err(std::io::Error::last_os_error().to_string());
        }
        Ok(())
    }

    /// Waits for the exit code, at most `timeout`.
    pub fn wait_exit(&self, timeout: Option<Duration>) -> Option<i32> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut g = self.exit.lock().unwrap();
        loop {
            if let Some(c) = *g {
                return Some(c);
            }
            match deadline {
                None => g = self.exit_cv.wait(g).unwrap(),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return None;
                    }
                    g = self.exit_cv.wait_timeout(g, d - now).unwrap().0;
                }
            }
        }
    }

    /// docker stop: the stop signal, then SIGKILL after `timeout`.
    pub fn stop(&self, timeout: Duration, signal: Option<i32>) -> i32 {
        let sig = signal.unwrap_or_else(|| stop_signal(&self.rec));
        let _ = self.signal(sig);
        if let Some(code) = self.wait_exit(Some(timeout)) {
            return code;
        }
        let _ = self.signal(libc::SIGKILL);
        self.wait_exit(None).unwrap_or(137)
    }

    fn busy(&self, delta: i32) {
        let mut b = self.busy.lock().unwrap();
        *b += delta;
        self.busy_cv.notify_all();
    }

    /// Changes the state and writes state.json.
    pub fn update(&self, f: impl FnOnce(&mut State)) {
        let mut s = self.state.lock().unwrap();
        f(&mut s);
        self.record(&s);
    }

    fn record(&self, s: &State) {
        if let Err(e) = state::write(&self.dir, s) {
            tracing::warn!("recording state: {e}");
        }
    }

    /// Lets the container read EOF on its stdin once other writers close.
    pub fn close_stdin(&self) {
        self.stdin_keepalive.lock().unwrap().take();
    }

    fn exited(&self) -> bool {
        self.exit.lock().unwrap().is_some()
    }
}

/// The image's STOPSIGNAL (name or number), else SIGTERM.
pub fn stop_signal(rec: &ContainerRecord) -> i32 {
    rec.stop_signal
        .as_deref()
        .and_then(parse_signal)
        .unwrap_or(libc::SIGTERM)
}

/// "SIGTERM", "TERM", "15" -> 15.
pub fn parse_signal(s: &str) -> Option<i32> {
    if let Ok(n) = s.parse::<i32>() {
        return (1..65).contains(&n).then_some(n);
    }
    let up = s.to_ascii_uppercase();
    let name = if up.starts_with("SIG") {
        up
    } else {
        format!("SIG{up}")
    };
    name.parse::<Signal>().ok().map(|s| s as i32)
}

/// Tells the CLI that started a detached monitor how the start went.
pub struct Ready(Option<File>);

impl Ready {
    pub fn new(fd: Option<OwnedFd>) -> Ready {
        Ready(fd.map(File::from))
    }
    pub(crate) fn send(&mut self, line: &str) {
        use std::io::Write;
        if let Some(mut f) = self.0.take() {
            let _ = writeln!(f, "{line}");
        }
    }
}

/// Runs the container to its end (through the restarts its restart policy
/// asks for: restart.rs); returns its last exit code. `ready` receives "ok"
/// once it runs, or "err CODE MESSAGE".
pub fn run(root: &Path, id: &str, attach: Option<Attach>, mut ready: Ready) -> Result<i32> {
    let fail = |ready: &mut Ready, e: RuntimeError| {
        ready.send(&format!("err {} {e}", e.exit_code()));
        Err(e)
    };
    // The run dir is on a tmpfs: after a reboot it is made again here.
    if let Err(e) = container::paths::restore_run_dir(root, id) {
        return fail(&mut ready, e);
    }
    // Before any thread starts (port proxies below): a forwarded signal must
    // reach only the forwarding thread, never end the CLI by its default action.
    if attach.is_some_and(|a| a.forward_signals) {
        attach::block_forwarded_signals();
    }
    let dir = container::container_dir(root, id);
    crate::restart::clear_stop(&dir);
    let rec = match container::load(root, id) {
        Ok(r) => r,
        Err(e) => return fail(&mut ready, e),
    };
    // Published ports are bound once and survive restarts; the gate tells
    // the proxies where the container currently is.
    let listeners = match crate::ports::bind_all(&rec.ports) {
        Ok(l) => l,
        Err(e) => return fail(&mut ready, e),
    };
    let ports: Vec<_> = listeners.iter().map(|(_, m)| *m).collect();
    let gate = Arc::new(crate::gate::Gate::default());
    crate::ports::start_proxies(listeners, gate.clone());
    let mut backoff = crate::restart::Backoff::default();
    let mut attach = attach;
    let mut restarts = 0;
    loop {
        crate::probe::prepare(&dir, &gate);
        let running = match start(root, id, attach.take(), &ports, &gate, restarts) {
            Ok(r) => r,
            Err(e) => return fail(&mut ready, e),
        };
        ready.send("ok");
        let began = Instant::now();
        let code = finish(running, &gate);
        // Read at each end: `hoist update --restart` changes it meanwhile.
        let restart = container::load(root, id).map_or(rec.restart.clone(), |r| r.restart);
        let policy = crate::restart::Policy::of(restart.as_deref());
        match crate::restart::next_run(root, &rec, policy, code, restarts, &mut backoff, began) {
            Some(n) => restarts = n,
            None => return Ok(code),
        }
    }
}

struct Running {
    shared: Arc<Shared>,
    cgroup: Cgroup,
    pumps: Vec<std::thread::JoinHandle<()>>,
    attach_guard: Option<attach::Guard>,
    /// The networks of this run (netattach.rs), released when it ends.
    networks: Vec<hoist_network::Attachment>,
    /// A rootless container's network helper (netrootless.rs).
    outbound: Option<hoist_network::rootless::Outbound>,
    _lock: File,
}

/// One monitor per container: an exclusive flock on the container's
/// directory itself (no lock file to create and delete on every run).
fn lock_monitor(dir: &Path) -> Result<File> {
    let f = File::open(dir).ctx(|| format!("locking {}", dir.display()))?;
    // SAFETY: flock on our own descriptor.
    if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } < 0 {
        return Err(RuntimeError::Invalid(
            "the container is already running".into(),
        ));
    }
    Ok(f)
}

fn start(
    root: &Path,
    id: &str,
    attach: Option<Attach>,
    ports: &[crate::container::config::PortMapping],
    gate: &Arc<crate::gate::Gate>,
    restart_count: u32,
) -> Result<Running> {
    let rec = container::load(root, id)?;
    let dir = container::container_dir(root, id);
    let lock = lock_monitor(&dir)?;
    let spec = oci_spec::runtime::Spec::load(dir.join("config.json"))
        .map_err(|e| RuntimeError::Invalid(format!("reading the container's spec: {e}")))?;
    if let Some(pod) = rec.pod.as_deref() {
        // A restart (restart policy) may find the pod's holder gone.
        crate::pod::recover::ensure_holder(&detached::own_exe()?, root, pod)?;
    }
    let (spec, pod_holder) = crate::pod::join_spec(root, &rec, spec)?;
    crate::netpod::member_files(root, &dir, &rec);
    let spec = crate::netjoin::join_spec(root, &dir, &rec, spec)?;
    // Made on another thread while the plan and the cgroup are prepared.
    // Not in a user namespace of its own: there the child makes its network
    // namespace itself (one the host's user namespace owns, it could not enter).
    let own_userns = rec.security.userns.is_some();
    let netns = (netns::wanted(&spec) && !own_userns)
        .then(|| netns::begin(crate::netattach::setup_for(root, &rec)));
    let log = LogWriter::open_with(&container::log_path(&dir, id), rec.log)?;
    let mut io = attach::Stdio::new(&rec, attach.as_ref())?;
    let overlay = container_overlay(&rec.lowerdirs, &dir, rec.auto_remove);
    let mut plan = container_plan(
        &spec,
        &dir,
        PlanOptions {
            overlay: Some(overlay),
            stdio: io.child_fds(),
        },
    )?;
    // A killed monitor takes the container with it (the kernel SIGKILLs
    // its PID 1, and with it the whole PID namespace): nothing may go on
    // running unlogged and unsupervised, without its published ports.
    // This thread spawns the child and lives until it has been reaped.
    plan.process.parent_death_signal = libc::SIGKILL;
    plan.process.seccomp = crate::security::seccomp_program(&spec, Some(root))?;
    plan.console_size = io.console_size(attach.as_ref());
    plan.console_socket = io.take_console_socket();
    // A foreign platform's image runs under qemu-user (emulation.rs).
    plan.emulator = crate::emulation::for_container(root, &rec)?;
    crate::pod::confirm(&rec, &pod_holder)?;
    refuse_leftovers(&rec)?;
    let limits = Limits::from_spec(spec.linux().as_ref().and_then(|l| l.resources().as_ref()));
    let (cgroup, join_files) = Cgroup::create_joinable(id, &limits)?;
    plan.cgroup_join = join_files;
    // Forwarded signals were blocked in `run`, before any thread started.
    let signals = attach.as_ref().is_some_and(|a| a.forward_signals);
    let start_failed = |e: RuntimeError| {
        cgroup.remove();
        let mut s = state::read(&dir);
        s.status = Status::Exited;
        s.exit_code = e.exit_code();
        s.error = e.to_string();
        s.finished_at = Some(crate::time::now());
        let _ = state::write(&dir, &s);
        Err(e)
    };
    let mut networks = Vec::new();
    if let Some(netns) = netns {
        match netns.hand_over(&mut plan) {
            Ok(atts) => networks = atts,
            Err(e) => return start_failed(e),
        }
    }
    // Rootless: outbound access through the user-mode helper, ready before
    // the container's process runs; it ends when `outbound` is dropped.
    let mut outbound = match crate::netrootless::attach(&dir, &rec, &plan) {
        Ok(o) => o,
        Err(e) => return start_failed(e),
    };
    // In a user namespace of its own: addresses now, veth pairs after the
    // clone (netns::LateAttach).
    let mut late = None;
    if own_userns && netns::wanted(&spec) {
        match netns::LateAttach::reserve(crate::netattach::setup_for(root, &rec)) {
            Ok(l) => late = l,
            Err(e) => return start_failed(e),
        }
    }
    if let Some(l) = &late {
        networks = l.attachments().to_vec();
    }
    if !networks.is_empty() {
        if let Err(e) = crate::netattach::before_start(&dir, &rec, &networks) {
            crate::netattach::after_stop(root, &dir, &rec, &networks);
            return start_failed(e);
        }
    }
    let mut attach_late = |pid: i32| {
        // Rootless keep-id: the helper on the child's own namespaces.
        if own_userns && outbound.is_none() {
            outbound = crate::keepid::outbound(&dir, &rec, pid)?;
        }
        match late.as_mut() {
            Some(l) => l.plumb_into(pid),
            None => Ok(()),
        }
    };
    let child = match spawn_begin_with(&plan, &mut attach_late) {
        Ok(c) => c,
        Err(e) => {
            crate::netattach::after_stop(root, &dir, &rec, &networks);
            return start_failed(e);
        }
    };
    // Our copy of the child's console socket end goes, so a child that dies
    // before sending its terminal ends our wait for it.
    drop(plan.console_socket.take());
    let console = io.receive_console();
    // While the child mounts its rootfs (milliseconds, on the other CPU):
    // the log pumps, the control socket, our own start time.
    let io_console = attach.as_ref().and_then(|_| io.master_clone());
    let (pumps, attach_guard, keepalive) = io.start_pumps(&log, attach.as_ref());
    let listener = control::bind(&dir);
    let me = std::process::id() as i32;
    let monitor_start = state::process_start_time(me).unwrap_or(0);
    let listener = console.and(listener);
    if listener.is_err() {
        // SAFETY: our own child, not yet reaped.
        unsafe { libc::kill(child.pid, libc::SIGKILL) };
    }
    let started = match (child.wait_exec(&plan), listener) {
        (Ok(pid), Ok(l)) => Ok((pid, l)),
        (Ok(pid), Err(e)) => {
            let _ = wait_exit_code(pid);
            Err(e)
        }
        (Err(e), _) => Err(e),
    };
    let (pid, listener) = match started {
        Ok(started) => started,
        Err(e) => {
            for p in pumps {
                let _ = p.join();
            }
            drop(attach_guard);
            let _ = std::fs::remove_file(dir.join(control::SOCKET));
            crate::netattach::after_stop(root, &dir, &rec, &networks);
            return start_failed(e);
        }
    };
    crate::netattach::after_start(root, &rec, &networks, pid);
    let st = State {
        status: Status::Running,
        pid,
        monitor_pid: me,
        monitor_start,
        started_at: Some(crate::time::now()),
        health: rec
            .healthcheck
            .as_ref()
            .map(|_| crate::health::HealthState::starting()),
        ports: ports.to_vec(),
        restart_count,
        ..Default::default()
    };
    state::write(&dir, &st)?;
    let shared = Arc::new(Shared {
        root: root.to_path_buf(),
        rec: rec.clone(),
        dir: dir.clone(),
        pid: Mutex::new(pid),
        exit: Mutex::new(None),
        exit_cv: Condvar::new(),
        busy: Mutex::new(0),
        busy_cv: Condvar::new(),
        state: Mutex::new(st),
        console: io_console,
        stdin_keepalive: Mutex::new(keepalive),
    });
    if signals {
        let s = shared.clone();
        std::thread::spawn(move || attach::forward_signals(&s));
    }
    let s = shared.clone();
    std::thread::spawn(move || control::serve(listener, s));
    crate::probe::start(&shared, gate, pid);
    if let (Some(pod), Some(holder)) = (rec.pod.as_deref(), pod_holder) {
        podwatch::start(root, pod, holder, shared.clone());
    }
    gate.set_pid(pid);
    crate::events::emit(
        root,
        &crate::events::Event::container(&rec, "start").with("restartCount", restart_count),
    );
    if let Some(h) = rec.healthcheck.clone() {
        let s = shared.clone();
        std::thread::spawn(move || healthloop::run(&s, &h));
    }
    Ok(Running {
        shared,
        cgroup,
        pumps,
        attach_guard,
        networks,
        outbound,
        _lock: lock,
    })
}

/// Processes still in the container's cgroup (left by a monitor that was
/// killed while something kept them alive) would share the new run's cgroup
/// and limits: the start is refused until they are stopped.
fn refuse_leftovers(rec: &ContainerRecord) -> Result<()> {
    let left = Cgroup::existing(&rec.id).pids();
    if left.is_empty() {
        return Ok(());
    }
    Err(RuntimeError::Start {
        message: format!(
            "container {} still has {} running process(es) from before its monitor ended (PIDs {left:?}): stop them with `hoist stop {}` or `hoist rm -f {}` first",
            rec.name,
            left.len(),
            rec.name,
            rec.name
        ),
        exit_code: 125,
    })
}

fn finish(r: Running, gate: &crate::gate::Gate) -> i32 {
    let shared = r.shared;
    let pid = shared.pid();
    let code = wait_exit_code(pid).unwrap_or(255);
    gate.set_pid(0);
    let oom = r.cgroup.oom_killed();
    // The helper ends (and is reaped) while the rest is done.
    let outbound_gone = std::thread::spawn(move || drop(r.outbound));
    crate::netattach::after_stop(&shared.root, &shared.dir, &shared.rec, &r.networks);
    crate::restart::record_exit(&shared.root, &shared.rec, code, oom);
    for p in r.pumps {
        let _ = p.join();
    }
    drop(r.attach_guard);
    // The cgroup goes on another thread while the state and files are done.
    let cgroup = r.cgroup;
    let cgroup_gone = std::thread::spawn(move || cgroup.remove());
    {
        // A --rm container's directory is about to go: its final state is
        // written only if removing it fails.
        let mut s = shared.state.lock().unwrap();
        s.status = Status::Exited;
        s.pid = 0;
        s.exit_code = code;
        s.oom_killed = oom;
        s.finished_at = Some(crate::time::now());
        if !shared.rec.auto_remove {
            shared.record(&s);
        }
    }
    {
        *shared.exit.lock().unwrap() = Some(code);
        shared.exit_cv.notify_all();
    }
    // Let requests in flight (stop, wait) send their replies.
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut b = shared.busy.lock().unwrap();
    while *b > 0 && Instant::now() < deadline {
        b = shared
            .busy_cv
            .wait_timeout(b, Duration::from_millis(50))
            .unwrap()
            .0;
    }
    drop(b);
    let _ = std::fs::remove_file(shared.dir.join(control::SOCKET));
    if shared.rec.auto_remove {
        // Its processes are gone with its PID 1 (its own PID namespace).
        if let Err(e) = container::remove_files(&shared.root, &shared.rec, true) {
            tracing::warn!("removing the container (--rm): {e}");
            shared.record(&shared.state.lock().unwrap());
        }
    }
    let _ = cgroup_gone.join();
    let _ = outbound_gone.join();
    code
}
