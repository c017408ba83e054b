//! The loading pipeline end to end on files made in a temp dir: discovery, override files,
//! project names, environment-driven options, type errors with their location, warnings,
//! and validation messages.

use hoist_compose::project::normalize_name;
use hoist_compose::{load, ComposeError, Options};
use std::collections::BTreeMap;
use std::path::Path;

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn opts(dir: &Path) -> Options {
    Options {
        working_dir: dir.to_path_buf(),
        ..Options::default()
    }
}

fn load_text(text: &str) -> Result<hoist_compose::Loaded, ComposeError> {
    let tmp = tempfile::tempdir().unwrap();
    write(&tmp.path().join("compose.yaml"), text);
    load(&opts(tmp.path()))
}

#[test]
fn discovery_walks_up_and_takes_the_override_beside_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("Proj");
    write(
        &root.join("docker-compose.yml"),
        "services:\n  old:\n    image: x\n",
    );
    write(
        &root.join("compose.yaml"),
        "services:\n  web:\n    image: a\n",
    );
    write(
        &root.join("compose.override.yaml"),
        "services:\n  web:\n    image: b\n",
    );
    let deep = root.join("src/deeper");
    std::fs::create_dir_all(&deep).unwrap();
    let loaded = load(&opts(&deep)).unwrap();
    assert_eq!(
        loaded.files,
        [
            root.join("compose.yaml"),
            root.join("compose.override.yaml")
        ]
    );
    assert_eq!(loaded.project.name, "proj");
    assert_eq!(loaded.project.working_dir, root);
    assert_eq!(loaded.project.services["web"].image.as_deref(), Some("b"));
    assert!(!loaded.project.services.contains_key("old"));
}

#[test]
fn no_compose_file_says_where_it_looked() {
    let tmp = tempfile::tempdir().unwrap();
    let err = load(&opts(tmp.path())).unwrap_err();
    assert!(matches!(err, ComposeError::NoFile { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains(&tmp.path().display().to_string()) && msg.contains("-f FILE"),
        "{msg}"
    );
}

#[test]
fn project_name_precedence() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("dirname");
    write(
        &dir.join("compose.yaml"),
        "name: from-file\nservices:\n  a:\n    image: x\n",
    );
    let mut o = opts(&dir);
    assert_eq!(load(&o).unwrap().project.name, "from-file");
    o.environment
        .insert("COMPOSE_PROJECT_NAME".into(), "from-env".into());
    assert_eq!(load(&o).unwrap().project.name, "from-env");
    o.project_name = Some("from-flag".into());
    assert_eq!(load(&o).unwrap().project.name, "from-flag");
    o.project_name = Some("Not Valid".into());
    let err = load(&o).unwrap_err().to_string();
    assert!(
        err.contains("project name \"Not Valid\" is not valid"),
        "{err}"
    );
    // Without name:, the directory's name made valid.
    write(&dir.join("compose.yaml"), "services:\n  a:\n    image: x\n");
    assert_eq!(load(&opts(&dir)).unwrap().project.name, "dirname");
}

#[test]
fn names_are_normalized_as_compose_does() {
    assert_eq!(normalize_name("My_Project.Dir"), "my_projectdir");
    assert_eq!(normalize_name("__-x y"), "xy");
    assert_eq!(normalize_name("App-2"), "app-2");
    assert_eq!(normalize_name("..."), "");
}

#[test]
fn compose_file_and_profiles_from_the_environment() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        &tmp.path().join("one.yml"),
        "services:\n  a:\n    image: x\n  b:\n    image: y\n    profiles: [extra]\n",
    );
    write(
        &tmp.path().join("two.yml"),
        "services:\n  a:\n    image: z\n",
    );
    let mut o = opts(tmp.path());
    o.environment = BTreeMap::from([
        ("COMPOSE_FILE".to_string(), "one.yml:two.yml".to_string()),
        ("COMPOSE_PROFILES".to_string(), "extra".to_string()),
    ]);
    let p = load(&o).unwrap().project;
    assert_eq!(p.services["a"].image.as_deref(), Some("z"));
    assert!(p.services.contains_key("b"));
    o.profiles = vec!["other".into()];
    assert!(!load(&o).unwrap().project.services.contains_key("b"));
}

#[test]
fn wrong_types_name_file_line_and_key_path() {
    let cases = [
        ("services: []\n", ":1: services: expected a mapping, got a sequence"),
        ("services:\n  a:\n    image: x\n    ports: 80\n", ":4: services.a.ports: expected a list of ports, got a scalar"),
        ("services:\n  a:\n    image: x\n    environment: 5\n", ":4: services.a.environment: expected a mapping or a list of KEY=VALUE"),
        ("services:\n  a:\n    image: x\n    healthcheck:\n      retries: many\n", ":5: services.a.healthcheck.retries: expected a whole number, got \"many\""),
        ("services:\n  a:\n    image: x\n    stop_grace_period: 10\n", ":4: services.a.stop_grace_period: \"10\" has no unit"),
        ("services:\n  a:\n    image: x\n    volumes:\n      - {type: bind, target: /x}\n", ":5: services.a.volumes[0]: a bind mount needs `source`"),
        ("services:\n  a:\n    image: x\n    depends_on:\n      b:\n        condition: service_ready\n", ":6: services.a.depends_on.b.condition: unknown condition \"service_ready\""),
        ("services:\n  a:\n    image: x\n    restart: sometimes\n", ":4: services.a.restart: unknown restart policy"),
        ("services:\n  a:\n    image: x\n    mem_limit: lots\n", ":4: services.a.mem_limit: \"lots\" is not a size"),
        ("services:\n  a:\n    image: x\n    volumes: [\"data:relative\"]\n", ":4: services.a.volumes[0]: the target \"relative\" must be an absolute path"),
    ];
    for (text, want) in cases {
        let err = load_text(text).unwrap_err().to_string();
        assert!(
            err.contains("compose.yaml") && err.contains(want),
            "{text:?}\n  got: {err}\n want: {want}"
        );
    }
}

#[test]
fn unknown_keys_are_warnings_with_their_place() {
    let loaded = load_text(
        "services:\n  a:\n    image: x\n    healthcheck:\n      intervall: 5s\n    x-mine: ok\nnetworks:\n  n:\n    drivr: bridge\nx-top: 1\n",
    )
    .unwrap();
    let w: Vec<String> = loaded
        .warnings
        .iter()
        .map(|w| format!("{}:{} {}", w.pos.line, w.path, w.message))
        .collect();
    assert_eq!(
        w,
        [
            "5:services.a.healthcheck.intervall unknown key, ignored (a typo?)",
            "9:networks.n.drivr unknown key, ignored (a typo?)"
        ]
    );
}

#[test]
fn validation_reports_every_problem() {
    let err = load_text(
        "services:\n  a:\n    image: x\n    depends_on: [a]\n  b:\n    depends_on: [dbg]\n    network_mode: service:nope\n  dbg:\n    image: x\n    profiles: [debug]\n",
    )
    .unwrap_err();
    let ComposeError::Validation { problems } = err else {
        panic!("{err}")
    };
    assert_eq!(
        problems,
        [
            "service \"b\" has neither an image nor a build section",
            "service \"b\" depends on \"dbg\", which is in profile(s) debug that are not enabled; enable one with --profile",
            "service \"b\": network_mode uses undefined service \"nope\"",
            "dependency cycle: a -> a",
        ]
    );
}

#[test]
fn optional_dependencies_may_be_missing() {
    let p = load_text(
        "services:\n  a:\n    image: x\n    depends_on:\n      gone:\n        required: false\n",
    )
    .unwrap();
    assert!(!p.project.services["a"].depends_on["gone"].required);
}

#[test]
fn readiness_probes_must_check_a_published_port() {
    let text = "services:\n  a:\n    image: x\n    ports: [\"8080:80\"]\n    x-hoist:\n      readinessProbe:\n        tcpSocket: {port: 81}\n";
    let err = load_text(text).unwrap_err().to_string();
    assert!(
        err.contains("readinessProbe checks container port 81"),
        "{err}"
    );
    assert!(load_text(&text.replace("port: 81", "port: 80")).is_ok());
    let two = "services:\n  a:\n    image: x\n    x-hoist:\n      livenessProbe:\n        tcpSocket: {port: 80}\n        exec: {command: [true]}\n";
    assert!(load_text(two)
        .unwrap_err()
        .to_string()
        .contains("exactly one of exec, httpGet and tcpSocket"));
}

#[test]
fn an_interpolation_error_in_a_later_file_names_that_file() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        &tmp.path().join("a.yml"),
        "services:\n  web:\n    image: x\n",
    );
    write(
        &tmp.path().join("b.yml"),
        "services:\n  web:\n    user: ${WHO:?who runs web}\n",
    );
    let mut o = opts(tmp.path());
    o.files = vec!["a.yml".into(), "b.yml".into()];
    let err = load(&o).unwrap_err().to_string();
    assert!(
        err.ends_with(
            "b.yml:3: services.web.user: required variable WHO is missing a value: who runs web"
        ),
        "{err}"
    );
    o.environment.insert("WHO".into(), "nobody".into());
    assert_eq!(
        load(&o).unwrap().project.services["web"].user.as_deref(),
        Some("nobody")
    );
}

#[test]
fn ulimits_take_both_forms_and_docker_s_rule() {
    let loaded = load_text(
        "services:\n  a:\n    image: x\n    ulimits:\n      nproc: 65535\n      nofile:\n        soft: 20000\n        hard: 40000\n",
    )
    .unwrap();
    let limits = &loaded.project.services["a"].ulimits;
    assert_eq!((limits["nproc"].soft, limits["nproc"].hard), (65535, 65535));
    assert_eq!(
        (limits["nofile"].soft, limits["nofile"].hard),
        (20000, 40000)
    );
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    for (limits, want) in [
        (
            "nofile: {soft: 2, hard: 1}",
            ":5: services.a.ulimits.nofile: the soft limit (2) must not exceed",
        ),
        (
            "nofile: {soft: 2}",
            ":5: services.a.ulimits.nofile: give both soft and hard",
        ),
        ("files: 10", ":5: services.a.ulimits.files: invalid"),
        (
            "nofile: lots",
            ":5: services.a.ulimits.nofile: expected a number",
        ),
    ] {
        let text = format!("services:\n  a:\n    image: x\n    ulimits:\n      {limits}\n");
        let err = load_text(&text).unwrap_err().to_string();
        assert!(err.contains(want), "{limits}\n  got: {err}\n want: {want}");
    }
}
