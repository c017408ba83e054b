//! Parser tests: every instruction in its forms, continuations, directives.

use super::*;

fn parse_ok(text: &str) -> Dockerfile {
    match parse("Dockerfile", text) {
        Ok(d) => d,
        Err(e) => panic!("parse failed:\n{e}"),
    }
}

/// The kinds of the instructions after the leading `FROM x`.
fn body(text: &str) -> Vec<Kind> {
    let d = parse_ok(&format!("FROM x\n{text}"));
    d.instructions.into_iter().skip(1).map(|i| i.kind).collect()
}

fn one(text: &str) -> Kind {
    let mut kinds = body(text);
    assert_eq!(kinds.len(), 1, "{kinds:?}");
    kinds.remove(0)
}

fn raws(words: &[Word]) -> Vec<&str> {
    words.iter().map(|w| w.raw.as_str()).collect()
}

fn pairs(p: &[(Word, Word)]) -> Vec<(&str, &str)> {
    p.iter()
        .map(|(k, v)| (k.raw.as_str(), v.raw.as_str()))
        .collect()
}

fn no_vars(_: &str) -> Option<String> {
    None
}

#[test]
fn from_forms() {
    let d = parse_ok("FROM busybox\nfrom --platform=linux/amd64 alpine:3 AS Build\nFROM scratch");
    let kinds: Vec<_> = d.instructions.iter().map(|i| &i.kind).collect();
    match kinds[0] {
        Kind::From {
            image,
            alias,
            platform,
        } => {
            assert_eq!(image.raw, "busybox");
            assert!(alias.is_none() && platform.is_none());
        }
        k => panic!("{k:?}"),
    }
    match kinds[1] {
        Kind::From {
            image,
            alias,
            platform,
        } => {
            assert_eq!(image.raw, "alpine:3");
            assert_eq!(alias.as_deref(), Some("build"));
            assert_eq!(platform.as_ref().unwrap().raw, "linux/amd64");
        }
        k => panic!("{k:?}"),
    }
    assert_eq!(d.instructions[1].pos, Pos { line: 2, col: 1 });
}

#[test]
fn args_before_from_are_allowed() {
    let d = parse_ok("# a comment\nARG V=1\nFROM base:${V}\n");
    assert!(matches!(d.instructions[0].kind, Kind::Arg(_)));
}

#[test]
fn run_shell_and_exec_forms() {
    assert_eq!(
        one("RUN echo hi && ls"),
        Kind::Run {
            command: CommandForm::Shell("echo hi && ls".into()),
            network: None,
            mounts: vec![],
            script: None
        }
    );
    assert_eq!(
        one(r#"RUN ["sh", "-c", "echo \"hi\""]"#),
        Kind::Run {
            command: CommandForm::Exec(vec!["sh".into(), "-c".into(), "echo \"hi\"".into()]),
            network: None,
            mounts: vec![],
            script: None
        }
    );
    assert_eq!(
        one("RUN --network=host wget x"),
        Kind::Run {
            command: CommandForm::Shell("wget x".into()),
            network: Some("host".into()),
            mounts: vec![],
            script: None
        }
    );
    for mode in ["default", "none"] {
        assert_eq!(
            one(&format!("RUN --network={mode} wget x")),
            Kind::Run {
                command: CommandForm::Shell("wget x".into()),
                network: Some(mode.into()),
                mounts: vec![],
                script: None
            }
        );
    }
    // Not valid JSON: docker falls back to the shell form.
    assert_eq!(
        one("RUN [not json"),
        Kind::Run {
            command: CommandForm::Shell("[not json".into()),
            network: None,
            mounts: vec![],
            script: None
        }
    );
}

#[test]
fn cmd_and_entrypoint_forms() {
    assert_eq!(
        one("CMD echo $HOME"),
        Kind::Cmd(CommandForm::Shell("echo $HOME".into()))
    );
    assert_eq!(
        one(r#"CMD ["a","b"]"#),
        Kind::Cmd(CommandForm::Exec(vec!["a".into(), "b".into()]))
    );
    assert_eq!(one("CMD []"), Kind::Cmd(CommandForm::Exec(vec![])));
    assert_eq!(
        one("ENTRYPOINT top -b"),
        Kind::Entrypoint(CommandForm::Shell("top -b".into()))
    );
    assert_eq!(
        one(r#"ENTRYPOINT ["/bin/app"]"#),
        Kind::Entrypoint(CommandForm::Exec(vec!["/bin/app".into()]))
    );
}

#[test]
fn env_and_label_forms() {
    let Kind::Env(p) = one("ENV A=1 B=\"two words\" C=a\\ b") else {
        panic!()
    };
    assert_eq!(
        pairs(&p),
        vec![("A", "1"), ("B", "\"two words\""), ("C", "a\\ b")]
    );
    let Kind::Env(p) = one("ENV LEGACY hello   world") else {
        panic!()
    };
    assert_eq!(pairs(&p), vec![("LEGACY", "hello   world")]);
    let Kind::Label(p) = one("LABEL a.b=c \"key two\"=v") else {
        panic!()
    };
    assert_eq!(pairs(&p), vec![("a.b", "c"), ("\"key two\"", "v")]);
    let Kind::Label(p) = one("LABEL version 1.0") else {
        panic!()
    };
    assert_eq!(pairs(&p), vec![("version", "1.0")]);
    let Kind::Label(p) = one("MAINTAINER Jane <jane@example.org>") else {
        panic!()
    };
    assert_eq!(pairs(&p), vec![("maintainer", "Jane <jane@example.org>")]);
}

#[test]
fn arg_forms() {
    let Kind::Arg(a) = one("ARG A B=2 C=\"x y\"") else {
        panic!()
    };
    assert_eq!(a[0], ("A".to_string(), None));
    assert_eq!(a[1].1.as_ref().unwrap().raw, "2");
    assert_eq!(a[2].1.as_ref().unwrap().raw, "\"x y\"");
}

#[test]
fn copy_and_add_forms() {
    let Kind::Copy(c) = one("COPY --from=build --chown=1:2 --chmod=0644 a b* /dst/") else {
        panic!()
    };
    assert_eq!(c.from.unwrap().raw, "build");
    assert_eq!(c.chown.unwrap().raw, "1:2");
    assert_eq!(c.chmod.unwrap().raw, "0644");
    assert_eq!(raws(&c.sources), vec!["a", "b*"]);
    assert_eq!(c.dest.raw, "/dst/");
    let Kind::Copy(c) = one(r#"COPY ["a b", "/x y/"]"#) else {
        panic!()
    };
    assert_eq!(raws(&c.sources), vec!["a b"]);
    assert_eq!(c.dest.raw, "/x y/");
    assert_eq!(c.dest.mode, Mode::VarsOnly);
    let Kind::Add(a) = one("ADD --link app.tar /opt") else {
        panic!()
    };
    assert_eq!(raws(&a.sources), vec!["app.tar"]);
}

#[test]
fn single_word_instructions() {
    assert_eq!(
        one("WORKDIR /app/$X"),
        Kind::Workdir(Word {
            raw: "/app/$X".into(),
            pos: Pos { line: 2, col: 9 },
            mode: Mode::Shell
        })
    );
    let Kind::User(u) = one("USER user:group") else {
        panic!()
    };
    assert_eq!(u.raw, "user:group");
    let Kind::StopSignal(s) = one("STOPSIGNAL SIGTERM") else {
        panic!()
    };
    assert_eq!(s.raw, "SIGTERM");
}

#[test]
fn volume_expose_shell() {
    let Kind::Volume(v) = one("VOLUME /a /b") else {
        panic!()
    };
    assert_eq!(raws(&v), vec!["/a", "/b"]);
    let Kind::Volume(v) = one(r#"VOLUME ["/data"]"#) else {
        panic!()
    };
    assert_eq!(raws(&v), vec!["/data"]);
    let Kind::Expose(e) = one("EXPOSE 80 443/tcp 53/udp") else {
        panic!()
    };
    assert_eq!(raws(&e), vec!["80", "443/tcp", "53/udp"]);
    assert_eq!(
        one(r#"SHELL ["/bin/sh", "-ec"]"#),
        Kind::Shell(vec!["/bin/sh".into(), "-ec".into()])
    );
}

#[test]
fn healthcheck_forms() {
    assert_eq!(one("HEALTHCHECK NONE"), Kind::Healthcheck(None));
    let Kind::Healthcheck(Some(h)) = one(
        "HEALTHCHECK --interval=5s --timeout=1m30s --start-period=500ms --start-interval=2s --retries=4 CMD wget -q localhost || exit 1",
    ) else {
        panic!()
    };
    assert_eq!(h.interval, 5_000_000_000);
    assert_eq!(h.timeout, 90_000_000_000);
    assert_eq!(h.start_period, 500_000_000);
    assert_eq!(h.start_interval, 2_000_000_000);
    assert_eq!(h.retries, Some(4));
    assert_eq!(
        h.command,
        CommandForm::Shell("wget -q localhost || exit 1".into())
    );
    let Kind::Healthcheck(Some(h)) = one(r#"HEALTHCHECK CMD ["true"]"#) else {
        panic!()
    };
    assert_eq!(h.command, CommandForm::Exec(vec!["true".into()]));
    assert_eq!((h.interval, h.retries), (0, None));
}

#[test]
fn continuations_comments_and_blank_lines() {
    let d = parse_ok(
        "FROM x\nRUN echo a \\\n  # inner comment\n\n    && echo b \\  \n  && echo c\nENV A=1",
    );
    assert_eq!(
        d.instructions[1].kind,
        Kind::Run {
            command: CommandForm::Shell("echo a     && echo b   && echo c".into()),
            network: None,
            mounts: vec![],
            script: None
        }
    );
    assert_eq!(
        d.instructions[1].text,
        "RUN echo a     && echo b   && echo c"
    );
    assert_eq!(d.instructions[2].pos, Pos { line: 7, col: 1 });
    // A continuation at the end of the file just ends the line.
    let d = parse_ok("FROM x\nCMD a \\");
    assert_eq!(
        d.instructions[1].kind,
        Kind::Cmd(CommandForm::Shell("a".into()))
    );
}

#[test]
fn indented_instructions_and_crlf() {
    let d = parse_ok("FROM x\r\n   run echo hi\r\n");
    assert_eq!(d.instructions[1].pos, Pos { line: 2, col: 4 });
    assert_eq!(
        d.instructions[1].kind,
        Kind::Run {
            command: CommandForm::Shell("echo hi".into()),
            network: None,
            mounts: vec![],
            script: None
        }
    );
}

#[test]
fn escape_directive_changes_the_continuation_character() {
    let d = parse_ok("# escape=`\n# syntax=docker/dockerfile:1\nFROM x\nRUN dir c:\\ `\n  && echo ok\nCOPY a` b /d/");
    assert_eq!(d.escape, '`');
    assert_eq!(
        d.instructions[1].kind,
        Kind::Run {
            command: CommandForm::Shell("dir c:\\   && echo ok".into()),
            network: None,
            mounts: vec![],
            script: None
        }
    );
    let Kind::Copy(c) = &d.instructions[2].kind else {
        panic!()
    };
    assert_eq!(raws(&c.sources), vec!["a` b"]);
    assert_eq!(d.expand(&c.sources[0], &no_vars).unwrap(), "a b");
}

#[test]
fn directives_only_count_at_the_top() {
    let d = parse_ok("FROM x\n# escape=`\nRUN a \\\n b");
    assert_eq!(d.escape, '\\');
    assert_eq!(d.instructions.len(), 2);
    // A blank line ends the directive section too.
    let d = parse_ok("\n# escape=`\nFROM x");
    assert_eq!(d.escape, '\\');
}

#[test]
fn expansion_uses_the_word_position_for_errors() {
    let d = parse_ok("FROM x\nWORKDIR /a/${B");
    let Kind::Workdir(w) = &d.instructions[1].kind else {
        panic!()
    };
    let e = d.expand(w, &no_vars).unwrap_err();
    assert_eq!((e.pos.line, e.pos.col), (2, 12));
    assert!(
        e.to_string().starts_with("Dockerfile:2:12: missing '}'"),
        "{e}"
    );
}

#[test]
fn expansion_of_env_values() {
    let d = parse_ok("FROM x\nENV A=\"$HOME/bin\" B=${UNSET:-d}");
    let Kind::Env(p) = &d.instructions[1].kind else {
        panic!()
    };
    let home = |n: &str| (n == "HOME").then(|| "/root".to_string());
    assert_eq!(d.expand(&p[0].1, &home).unwrap(), "/root/bin");
    assert_eq!(d.expand(&p[1].1, &home).unwrap(), "d");
}

#[test]
fn run_mounts_parse_into_their_options() {
    match one("RUN --mount=type=cache,target=/root/.cache,id=go,sharing=locked,mode=0700,uid=1000 --mount=type=secret,id=tok,env=TOKEN,required --mount=target=/src,from=build,source=/out,rw --mount=type=tmpfs,target=/t,size=64m true") {
        Kind::Run { mounts, command, .. } => {
            assert_eq!(command, CommandForm::Shell("true".into()));
            assert_eq!(mounts.len(), 4);
            let c = &mounts[0];
            assert_eq!(c.kind, MountKind::Cache);
            assert_eq!(c.target.as_ref().unwrap().raw, "/root/.cache");
            assert_eq!(c.id.as_ref().unwrap().raw, "go");
            assert_eq!((c.sharing, c.mode, c.uid), (Sharing::Locked, Some(0o700), Some(1000)));
            let s = &mounts[1];
            assert_eq!(s.kind, MountKind::Secret);
            assert!(s.required && s.target.is_none());
            assert_eq!(s.env.as_ref().unwrap().raw, "TOKEN");
            let b = &mounts[2];
            assert_eq!(b.kind, MountKind::Bind);
            assert_eq!(b.readwrite, Some(true));
            assert_eq!(b.from.as_ref().unwrap().raw, "build");
            assert_eq!(mounts[3].size, Some(64 << 20));
        }
        k => panic!("{k:?}"),
    }
}

/// BuildKit's documented heredoc examples (Dockerfile reference, "Here-Documents").
#[test]
fn heredocs_as_buildkit_documents_them() {
    let kinds = body("RUN <<EOT bash\n  set -ex\n  apt-get update\nEOT\nRUN <<EOT\n  mkdir -p foo/bar\nEOT\nRUN <<EOT\n#!/usr/bin/env python\nprint(\"hello world\")\nEOT\nRUN <<FILE1 cat > file1 && <<FILE2 cat > file2\nI am\nfirst\nFILE1\nI am\nsecond\nFILE2\nCOPY <<EOF greeting.txt\nhello world\nEOF\nCOPY <<-\"EOT\" /script.sh\n\techo \"hello ${FOO}\"\n\tEOT\nENV A=1\n");
    assert_eq!(kinds.len(), 7, "{kinds:?}");
    let shell = |k: &Kind| match k {
        Kind::Run {
            command: CommandForm::Shell(s),
            script: None,
            ..
        } => s.clone(),
        k => panic!("{k:?}"),
    };
    assert_eq!(
        shell(&kinds[0]),
        "<<EOT bash\n  set -ex\n  apt-get update\nEOT"
    );
    assert_eq!(shell(&kinds[1]), "  mkdir -p foo/bar\n");
    match &kinds[2] {
        Kind::Run {
            command,
            script: Some(doc),
            ..
        } => {
            assert_eq!(command, &CommandForm::Exec(vec!["/dev/pipes/EOT".into()]));
            assert_eq!(
                doc.content,
                "#!/usr/bin/env python\nprint(\"hello world\")\n"
            );
        }
        k => panic!("{k:?}"),
    }
    assert_eq!(
        shell(&kinds[3]),
        "<<FILE1 cat > file1 && <<FILE2 cat > file2\nI am\nfirst\nFILE1\nI am\nsecond\nFILE2"
    );
    match &kinds[4] {
        Kind::Copy(args) => {
            assert!(args.sources.is_empty());
            assert_eq!(args.dest.raw, "greeting.txt");
            assert_eq!(args.heredocs[0].name, "EOF");
            assert_eq!(args.heredocs[0].text(), "hello world\n");
            assert!(args.heredocs[0].expand);
        }
        k => panic!("{k:?}"),
    }
    match &kinds[5] {
        Kind::Copy(args) => {
            let doc = &args.heredocs[0];
            assert!(doc.chomp && !doc.expand);
            assert_eq!(doc.text(), "echo \"hello ${FOO}\"\n");
        }
        k => panic!("{k:?}"),
    }
    assert!(matches!(kinds[6], Kind::Env(_)));
}

#[test]
fn heredoc_lines_are_raw_and_syntax_is_kept() {
    let d = parse_ok(
        "# syntax=docker/dockerfile:1.7\nFROM x\nRUN <<EOF\n# not a comment\n\nline \\\nEOF\n",
    );
    assert_eq!(d.syntax.as_deref(), Some("docker/dockerfile:1.7"));
    match &d.instructions[1].kind {
        Kind::Run { command, .. } => {
            assert_eq!(
                command,
                &CommandForm::Shell("# not a comment\n\nline \\\n".into())
            )
        }
        k => panic!("{k:?}"),
    }
}

#[test]
fn copy_exclude_parents_and_onbuild() {
    match one("COPY --exclude=*.md --exclude=tmp --parents a/./b c /d/") {
        Kind::Copy(args) => {
            assert_eq!(raws(&args.exclude), vec!["*.md", "tmp"]);
            assert!(args.parents);
            assert_eq!(raws(&args.sources), vec!["a/./b", "c"]);
        }
        k => panic!("{k:?}"),
    }
    assert_eq!(
        one("ONBUILD RUN echo hi"),
        Kind::Onbuild("RUN echo hi".into())
    );
}
