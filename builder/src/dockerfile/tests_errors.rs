//! Parser tests: each malformed form gives the right `file:line:col` error.

use super::*;

fn fails(text: &str) -> ParseError {
    match parse("Dockerfile", text) {
        Ok(d) => panic!("expected an error, parsed {:?}", d.instructions),
        Err(e) => e,
    }
}

/// Asserts the error's line, column and a fragment of its message.
fn check(text: &str, line: usize, col: usize, fragment: &str) {
    let e = fails(text);
    assert_eq!((e.pos.line, e.pos.col), (line, col), "{e}");
    assert!(
        e.message.contains(fragment),
        "{:?} lacks {fragment:?}",
        e.message
    );
}

#[test]
fn display_has_the_line_and_a_caret() {
    let e = fails("FROM x\n  FOO bar");
    assert_eq!(
        e.to_string(),
        "Dockerfile:2:3: unknown instruction: FOO (hoist supports FROM, RUN, CMD, ENTRYPOINT, ENV, ARG, LABEL, COPY, ADD, WORKDIR, USER, VOLUME, EXPOSE, SHELL, STOPSIGNAL, HEALTHCHECK, ONBUILD)\n    FOO bar\n    ^"
    );
}

#[test]
fn unknown_and_unsupported_instructions() {
    check("FROM x\nFOO bar", 2, 1, "unknown instruction: FOO");
    check(
        "FROM x\nONBUILD ONBUILD RUN x",
        2,
        9,
        "ONBUILD is not allowed as an ONBUILD trigger",
    );
    check("FROM x\nONBUILD FROM y", 2, 9, "FROM is not allowed");
    check("FROM x\nONBUILD FOO y", 2, 9, "unknown instruction: FOO");
}

#[test]
fn missing_or_misplaced_from() {
    check("RUN x", 1, 1, "RUN before FROM");
    check("# only a comment\n", 2, 1, "no FROM");
    check("FROM", 1, 5, "FROM requires an image");
    check("FROM a b", 1, 8, "FROM takes IMAGE [AS NAME]");
    check("FROM a AS 1x", 1, 11, "invalid stage name");
    check("FROM --platform a", 1, 6, "--platform requires a value");
    check("FROM --foo=1 a", 1, 6, "unknown flag --foo for FROM");
}

#[test]
fn empty_commands() {
    check("FROM x\nRUN", 2, 4, "RUN requires a command");
    check("FROM x\nRUN []", 2, 5, "RUN requires a command");
    check("FROM x\nCMD", 2, 4, "CMD requires a command");
}

#[test]
fn run_mounts_are_checked_where_they_are_wrong() {
    check(
        "FROM x\nRUN --mount=type=bogus,target=/x true",
        2,
        13,
        "unknown mount type \"bogus\": use bind, cache, tmpfs or secret",
    );
    check(
        "FROM x\nRUN --mount=type=cache true",
        2,
        5,
        "--mount=type=cache needs target=PATH",
    );
    check(
        "FROM x\nRUN --mount=type=tmpfs,id=a,target=/t true",
        2,
        24,
        "mount option id does not apply to type=tmpfs",
    );
    check(
        "FROM x\nRUN --mount=type=cache,target=/c,sharing=sometimes true",
        2,
        34,
        "sharing=\"sometimes\": use shared, private or locked",
    );
    check(
        "FROM x\nRUN --mount=type=cache,target=/c,mode=rwx true",
        2,
        39,
        "mode=rwx: expected an octal mode",
    );
    check("FROM x\nRUN --mount=type=secret true", 2, 5, "needs id=ID");
    check(
        "FROM x\nRUN --mount=type=ssh true",
        2,
        13,
        "type=ssh is not supported",
    );
    check("FROM x\nRUN --mount true", 2, 5, "--mount requires a value");
    check(
        "FROM x\nRUN --mount=type=cache,target=/c,wat=1 true",
        2,
        34,
        "unknown mount option \"wat\"",
    );
}

#[test]
fn heredoc_errors() {
    check(
        "FROM x\nRUN <<EOF\necho hi\n",
        2,
        1,
        "unterminated heredoc <<EOF",
    );
    check(
        "FROM x\nRUN cat 3<<EOF\nx\nEOF\n",
        2,
        1,
        "unsupported heredoc redirect 3",
    );
}

#[test]
fn run_network_modes_are_buildkits() {
    check(
        "FROM x\nRUN --network=foo true",
        2,
        15,
        "invalid network mode \"foo\" for RUN --network (use default, none or host)",
    );
    check("FROM x\nRUN --network=bridge true", 2, 15, "\"bridge\"");
    check(
        "FROM x\nRUN --network true",
        2,
        5,
        "--network requires a value",
    );
}

#[test]
fn env_label_arg_errors() {
    check("FROM x\nENV", 2, 4, "ENV requires KEY=VALUE");
    check("FROM x\nENV A=1 B", 2, 9, "ENV expects KEY=VALUE");
    check("FROM x\nENV ONLYKEY", 2, 5, "has no value");
    check("FROM x\nLABEL =v", 2, 7, "empty key");
    check("FROM x\nARG", 2, 4, "ARG requires a name");
    check("FROM x\nARG 9x", 2, 5, "invalid ARG name");
}

#[test]
fn copy_errors() {
    check(
        "FROM x\nCOPY onlyone",
        2,
        6,
        "at least one source and a destination",
    );
    check("FROM x\nCOPY --from a b", 2, 6, "--from requires a value");
    check(
        "FROM x\nADD --from=x a b",
        2,
        5,
        "unknown flag --from for ADD",
    );
    check("FROM x\nCOPY --chown=1 --chown=2 a b", 2, 16, "given twice");
}

#[test]
fn single_argument_errors() {
    check("FROM x\nWORKDIR", 2, 8, "WORKDIR requires a path");
    check("FROM x\nWORKDIR /a /b", 2, 12, "exactly one argument");
    check("FROM x\nUSER", 2, 5, "USER requires");
    check("FROM x\nSTOPSIGNAL 1 2", 2, 14, "exactly one argument");
}

#[test]
fn shell_volume_expose_errors() {
    check(
        "FROM x\nSHELL /bin/sh -c",
        2,
        7,
        "SHELL requires a JSON array",
    );
    check("FROM x\nSHELL []", 2, 7, "SHELL requires a JSON array");
    check("FROM x\nVOLUME", 2, 7, "VOLUME requires");
    check("FROM x\nEXPOSE", 2, 7, "EXPOSE requires");
}

#[test]
fn healthcheck_errors() {
    check("FROM x\nHEALTHCHECK", 2, 12, "requires CMD or NONE");
    check("FROM x\nHEALTHCHECK true", 2, 13, "expects CMD or NONE");
    check(
        "FROM x\nHEALTHCHECK --interval=5 CMD true",
        2,
        24,
        "must be a duration",
    );
    check(
        "FROM x\nHEALTHCHECK --retries=-1 CMD true",
        2,
        23,
        "cannot be negative",
    );
    check(
        "FROM x\nHEALTHCHECK --retries=x CMD true",
        2,
        23,
        "whole number",
    );
    check(
        "FROM x\nHEALTHCHECK --timeout=10us CMD true",
        2,
        23,
        "at least 1ms",
    );
    check(
        "FROM x\nHEALTHCHECK --interval=1s NONE",
        2,
        13,
        "NONE takes no options",
    );
    check(
        "FROM x\nHEALTHCHECK NONE x",
        2,
        18,
        "NONE takes no arguments",
    );
    check("FROM x\nHEALTHCHECK CMD", 2, 16, "requires a command");
}

#[test]
fn directive_errors() {
    check("# escape=x\nFROM a", 1, 10, "invalid escape token");
    check("# escape=`\n# escape=`\nFROM a", 2, 1, "only one 'escape'");
}

#[test]
fn errors_inside_continuations_point_at_the_physical_line() {
    // The bad flag is on the second physical line.
    check(
        "FROM x\nHEALTHCHECK \\\n   --interval=zz CMD true",
        3,
        15,
        "must be a duration",
    );
}
