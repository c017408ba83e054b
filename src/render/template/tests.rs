use super::Template;
use serde_json::json;

fn run(t: &str, v: serde_json::Value) -> String {
    Template::parse(t).unwrap().render(&v).unwrap()
}

#[test]
fn fields_json_and_nested_values() {
    let v = json!({"ID": "abc", "State": {"Status": "running", "Health": null},
                   "Config": {"Env": ["A=1", "B=2"], "Labels": {"b": "2", "a": "1"}}});
    assert_eq!(run("{{.ID}} {{.State.Status}}", v.clone()), "abc running");
    assert_eq!(run("{{json .Config.Env}}", v.clone()), r#"["A=1","B=2"]"#);
    assert_eq!(run("{{.Config.Env}}", v.clone()), "[A=1 B=2]");
    assert_eq!(run("{{.Config.Labels}}", v.clone()), "map[a:1 b:2]");
    assert_eq!(run("{{.State.Health}}", v.clone()), "<nil>");
    assert_eq!(run("{{index .Config.Labels \"b\"}}", v.clone()), "2");
    assert_eq!(run("{{index .Config.Env 1}}", v.clone()), "B=2");
    assert_eq!(run("{{index .Config.Labels \"zz\"}}|", v), "|");
}

#[test]
fn range_if_with_and_variables() {
    let v = json!({"Labels": {"z": "last", "a": "first"}, "Ports": [1, 2, 3], "Empty": []});
    // Maps range in key order, as in Go.
    assert_eq!(
        run(
            "{{range $k, $v := .Labels}}{{$k}}={{$v}};{{end}}",
            v.clone()
        ),
        "a=first;z=last;"
    );
    assert_eq!(
        run("{{range .Ports}}<{{.}}>{{end}}", v.clone()),
        "<1><2><3>"
    );
    assert_eq!(
        run("{{range $i, $p := .Ports}}{{$i}}{{end}}", v.clone()),
        "012"
    );
    assert_eq!(
        run("{{range .Empty}}x{{else}}none{{end}}", v.clone()),
        "none"
    );
    assert_eq!(
        run(
            "{{if eq (len .Ports) 3}}three{{else if .Empty}}e{{else}}other{{end}}",
            v.clone()
        ),
        "three"
    );
    assert_eq!(
        run("{{if .Empty}}a{{else if .Ports}}b{{end}}", v.clone()),
        "b"
    );
    assert_eq!(
        run("{{with .Labels.a}}[{{.}}]{{end}}", v.clone()),
        "[first]"
    );
    assert_eq!(
        run("{{$x := .Labels.z}}{{$x}} {{$.Labels.a}}", v),
        "last first"
    );
}

#[test]
fn docker_functions_pipes_and_trim_markers() {
    let v = json!({"Name": "/web", "Args": ["-c", "echo hi"], "N": 7});
    assert_eq!(run("{{join .Args \",\"}}", v.clone()), "-c,echo hi");
    assert_eq!(run("{{.Name | upper}}", v.clone()), "/WEB");
    assert_eq!(
        run("{{lower \"ABC\"}} {{title \"hello world\"}}", v.clone()),
        "abc Hello World"
    );
    assert_eq!(run("{{split \"a:b\" \":\"}}", v.clone()), "[a b]");
    assert_eq!(run("{{truncate .Name 3}}", v.clone()), "/we");
    assert_eq!(
        run("{{printf \"%-5s|%03d\" \"ab\" .N}}", v.clone()),
        "ab   |007"
    );
    assert_eq!(run("a  {{- .N -}}  b", v.clone()), "a7b");
    assert_eq!(run("{{/* note */}}{{len .Args}}", v.clone()), "2");
    assert_eq!(run("{{if and .N (not .Missing)}}y{{end}}", v.clone()), "y");
    assert_eq!(run("{{(index .Args 1) | printf \"%q\"}}", v), "\"echo hi\"");
}

#[test]
fn table_has_a_header_and_aligned_columns() {
    let t = Template::parse_docker("table {{.ID}}\\t{{.Name}}").unwrap();
    let lines = super::rows(
        &t,
        &json!({"ID": "CONTAINER ID", "Name": "NAMES"}),
        &[json!({"ID": "abc", "Name": "web"})],
    )
    .unwrap();
    assert_eq!(lines, ["CONTAINER ID   NAMES", "abc            web"]);
}

#[test]
fn errors_name_the_problem() {
    for bad in [
        "{{.ID",
        "{{if .X}}a",
        "{{end}}",
        "{{nosuch .X}}",
        "{{\"open}}",
    ] {
        let r = Template::parse(bad).and_then(|t| t.render(&json!({"X": 1})));
        let e = r
            .err()
            .unwrap_or_else(|| panic!("{bad:?} should fail"))
            .to_string();
        assert!(e.starts_with("template"), "{bad:?}: {e}");
    }
    let e = Template::parse("{{.A.B}}")
        .unwrap()
        .render(&json!({"A": 1}))
        .unwrap_err();
    assert!(e.to_string().contains("can't evaluate field B"), "{e}");
}

#[test]
fn root_fields_names_what_the_template_reads() {
    let fields = |t: &str| {
        Template::parse_docker(t)
            .unwrap()
            .root_fields()
            .map(|s| s.into_iter().collect::<Vec<_>>().join(","))
    };
    assert_eq!(
        fields("table {{.ID}}\\t{{.Names}}").as_deref(),
        Some("ID,Names")
    );
    assert_eq!(
        fields("{{if .Ports}}{{upper .Names}}{{end}} {{json .Labels}} {{$.State}}").as_deref(),
        Some("Labels,Names,Ports,State")
    );
    assert_eq!(
        fields("{{range $k, $v := .Labels}}{{$k}}{{end}}").as_deref(),
        Some("Labels")
    );
    assert_eq!(
        fields("{{(index .Labels \"a\")}}").as_deref(),
        Some("Labels")
    );
    // The whole value: every field.
    for whole in [
        "json",
        "{{json .}}",
        "{{$x := .}}{{$x.Names}}",
        "{{$}}",
        "{{with .}}{{end}}",
    ] {
        assert_eq!(fields(whole), None, "{whole}");
    }
}
