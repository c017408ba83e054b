//! From a parsed Dockerfile to a plan: the stages, which of them the target
//! needs (through `FROM <stage>` and `COPY --from=<stage>`), the global ARGs
//! that FROM lines may use, and waves of stages that can run in parallel.

use std::collections::BTreeMap;

use hoist_store::Platform;

use crate::dockerfile::{Dockerfile, Instruction, Kind, Pos, Word};
use crate::error::{BuildError, Result};

/// Where a stage starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Base {
    Scratch,
    /// An image reference, expanded, to find in the local store.
    Image(String),
    /// An earlier stage, by index.
    Stage(usize),
}

#[derive(Debug, Clone)]
pub struct Stage {
    pub index: usize,
    pub name: Option<String>,
    pub base: Base,
    /// The FROM instruction.
    pub from: Instruction,
    /// The instructions after FROM.
    pub steps: Vec<Instruction>,
    /// Stages this one reads (its base and its COPY --from sources).
    pub depends_on: Vec<usize>,
    /// What it runs on: `FROM --platform=`'s, else the build's target.
    pub platform: Platform,
}

#[derive(Debug, Clone)]
pub struct Plan {
    /// The ARGs declared before the first FROM, resolved (name -> value; None if unset).
    pub global_args: BTreeMap<String, Option<String>>,
    pub stages: Vec<Stage>,
    /// The stage whose result is the image.
    pub target: usize,
    /// The stages to build, as waves: each wave's stages only need earlier waves.
    pub waves: Vec<Vec<usize>>,
    /// Build args no ARG declares (docker warns about them).
    pub unused_build_args: Vec<String>,
    /// The platform ARGs docker predefines (TARGETPLATFORM, BUILDARCH...).
    pub platform_args: Vec<(&'static str, String)>,
}

/// Makes the plan for `target` (the last stage when None), building for
/// `platform`.
pub fn plan(
    df: &Dockerfile,
    target: Option<&str>,
    build_args: &BTreeMap<String, String>,
    platform: &Platform,
) -> Result<Plan> {
    let mut global_args: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut declared: Vec<String> = Vec::new();
    let mut stages: Vec<Stage> = Vec::new();
    let predefined = crate::platform::platform_args(platform);

    for ins in &df.instructions {
        match &ins.kind {
            Kind::Arg(args) if stages.is_empty() => {
                for (name, default) in args {
                    declared.push(name.clone());
                    let value = match (build_args.get(name), default) {
                        (Some(v), _) => Some(v.clone()),
                        (None, Some(word)) => {
                            Some(df.expand(word, &|n| lookup_global(&global_args, n))?)
                        }
                        (None, None) => predefined
                            .iter()
                            .find(|(p, _)| p == name)
                            .map(|(_, v)| v.clone()),
                    };
                    global_args.insert(name.clone(), value);
                }
            }
            Kind::From {
                image,
                alias,
                platform: from_platform,
            } => {
                let base = resolve_base(df, image, &global_args, &stages)?;
                let stage_platform = match from_platform {
                    None => platform.clone(),
                    // BuildKit expands it with the global ARGs and the
                    // predefined platform ARGs, declared or not.
                    Some(word) => {
                        let text = df.expand(word, &|n| {
                            lookup_global(&global_args, n).or_else(|| {
                                predefined
                                    .iter()
                                    .find(|(p, _)| *p == n)
                                    .map(|(_, v)| v.clone())
                            })
                        })?;
                        crate::platform::parse(&text).map_err(|e| {
                            df.error_at(word.pos, format!("FROM --platform={}: {e}", word.raw))
                        })?
                    }
                };
                if let Some(alias) = alias {
                    if stages.iter().any(|s| s.name.as_deref() == Some(alias)) {
                        return Err(df
                            .error_at(ins.pos, format!("duplicate stage name {alias:?}"))
                            .into());
                    }
                }
                let mut depends_on = Vec::new();
                if let Base::Stage(i) = base {
                    depends_on.push(i);
                }
                stages.push(Stage {
                    index: stages.len(),
                    name: alias.clone(),
                    base,
                    from: ins.clone(),
                    steps: Vec::new(),
                    depends_on,
                    platform: stage_platform,
                });
            }
            kind => {
                let stage = stages.last_mut().expect("the parser puts FROM first");
                if let Kind::Arg(args) = kind {
                    declared.extend(args.iter().map(|(n, _)| n.clone()));
                }
                stage.steps.push(ins.clone());
            }
        }
    }

    // COPY --from and RUN --mount from= dependencies, now that every stage name is known.
    for i in 0..stages.len() {
        let mut deps = Vec::new();
        for ins in &stages[i].steps {
            let mut froms: Vec<&Word> = Vec::new();
            match &ins.kind {
                Kind::Copy(args) => froms.extend(&args.from),
                Kind::Run { mounts, .. } => {
                    froms.extend(mounts.iter().filter_map(|m| m.from.as_ref()))
                }
                _ => {}
            }
            for from in froms {
                let name = df.expand(from, &|n| lookup_global(&global_args, n))?;
                if let Some(j) = stage_ref(&stages[..i], &name) {
                    deps.push(j);
                } else if name.parse::<usize>().is_ok() {
                    return Err(df
                        .error_at(
                            from.pos,
                            format!(
                                "{} --from={name}: there is no earlier stage {name}",
                                ins.kind.keyword()
                            ),
                        )
                        .into());
                }
            }
        }
        for d in deps {
            if !stages[i].depends_on.contains(&d) {
                stages[i].depends_on.push(d);
            }
        }
    }

    let target = match target {
        None => stages.len() - 1,
        Some(name) => stage_ref(&stages, &name.to_ascii_lowercase()).ok_or_else(|| {
            BuildError::UnknownTarget {
                name: name.to_string(),
                stages: stage_list(&stages),
            }
        })?,
    };
    let waves = waves(&stages, target);
    let mut unused_build_args: Vec<String> = build_args
        .keys()
        .filter(|k| !declared.contains(k))
        .cloned()
        .collect();
    unused_build_args.sort();
    Ok(Plan {
        global_args,
        stages,
        target,
        waves,
        unused_build_args,
        platform_args: predefined,
    })
}

fn lookup_global(args: &BTreeMap<String, Option<String>>, name: &str) -> Option<String> {
    args.get(name).cloned().flatten()
}

fn resolve_base(
    df: &Dockerfile,
    image: &Word,
    global_args: &BTreeMap<String, Option<String>>,
    stages: &[Stage],
) -> Result<Base> {
    let name = df.expand(image, &|n| lookup_global(global_args, n))?;
    if name.is_empty() {
        return Err(df
            .error_at(
                image.pos,
                format!("FROM {}: the image name expands to nothing", image.raw),
            )
            .into());
    }
    if name == "scratch" {
        return Ok(Base::Scratch);
    }
    let lower = name.to_ascii_lowercase();
    if let Some(i) = stages
        .iter()
        .position(|s| s.name.as_deref() == Some(&lower))
    {
        return Ok(Base::Stage(i));
    }
    Ok(Base::Image(name))
}

/// A stage by name or by index among `stages`.
pub fn stage_ref(stages: &[Stage], name: &str) -> Option<usize> {
    let lower = name.to_ascii_lowercase();
    if let Some(i) = stages
        .iter()
        .position(|s| s.name.as_deref() == Some(&lower))
    {
        return Some(i);
    }
    name.parse::<usize>().ok().filter(|i| *i < stages.len())
}

fn stage_list(stages: &[Stage]) -> String {
    stages
        .iter()
        .map(|s| s.name.clone().unwrap_or_else(|| s.index.to_string()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Groups the stages `target` needs into waves that can run in parallel.
fn waves(stages: &[Stage], target: usize) -> Vec<Vec<usize>> {
    let mut needed = vec![false; stages.len()];
    let mut todo = vec![target];
    while let Some(i) = todo.pop() {
        if !needed[i] {
            needed[i] = true;
            todo.extend(&stages[i].depends_on);
        }
    }
    let mut level = vec![0usize; stages.len()];
    // Dependencies always point to earlier stages, so one pass in order works.
    for s in stages {
        level[s.index] = s
            .depends_on
            .iter()
            .map(|d| level[*d] + 1)
            .max()
            .unwrap_or(0);
    }
    let mut waves: Vec<Vec<usize>> = Vec::new();
    for s in stages.iter().filter(|s| needed[s.index]) {
        let l = level[s.index];
        if waves.len() <= l {
            waves.resize(l + 1, Vec::new());
        }
        waves[l].push(s.index);
    }
    waves.retain(|w| !w.is_empty());
    waves
}

/// The position to blame for a problem with a stage's base image.
pub fn from_pos(stage: &Stage) -> Pos {
    match &stage.from.kind {
        Kind::From { image, .. } => image.pos,
        _ => stage.from.pos,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dockerfile::parse;

    fn p(text: &str, target: Option<&str>, args: &[(&str, &str)]) -> Result<Plan> {
        let df = parse("Dockerfile", text).unwrap();
        let args = args
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        plan(&df, target, &args, &hoist_store::host_platform())
    }

    #[test]
    fn global_args_feed_from_lines() {
        let plan = p(
            "ARG V=1\nARG IMG=base:$V\nFROM $IMG\nFROM ${IMG}-x AS two\n",
            None,
            &[],
        )
        .unwrap();
        assert_eq!(plan.stages[0].base, Base::Image("base:1".into()));
        assert_eq!(plan.stages[1].base, Base::Image("base:1-x".into()));
        let plan = p(
            "ARG V=1\nFROM base:$V\n",
            None,
            &[("V", "9"), ("NOPE", "x")],
        )
        .unwrap();
        assert_eq!(plan.stages[0].base, Base::Image("base:9".into()));
        assert_eq!(plan.unused_build_args, vec!["NOPE".to_string()]);
    }

    #[test]
    fn stages_and_waves() {
        let text = "FROM scratch AS a\nFROM busybox AS b\nFROM a AS c\nCOPY --from=b /x /x\nFROM busybox AS unused\nFROM c\nCOPY --from=1 /y /y\n";
        let plan = p(text, None, &[]).unwrap();
        assert_eq!(plan.stages[2].base, Base::Stage(0));
        assert_eq!(plan.stages[2].depends_on, vec![0, 1]);
        assert_eq!(plan.target, 4);
        assert_eq!(plan.waves, vec![vec![0, 1], vec![2], vec![4]]);
        let plan = p(text, Some("B"), &[]).unwrap();
        assert_eq!(plan.waves, vec![vec![1]]);
        let err = p(text, Some("nope"), &[]).unwrap_err().to_string();
        assert!(err.contains("a, b, c, unused, 4"), "{err}");
    }

    #[test]
    fn from_platform_expands_the_predefined_args() {
        let df = parse(
            "Dockerfile",
            "FROM --platform=$BUILDPLATFORM a AS b\nFROM --platform=linux/aarch64 c\nFROM d\n",
        )
        .unwrap();
        let target = "linux/riscv64".parse().unwrap();
        let plan = plan(&df, None, &BTreeMap::new(), &target).unwrap();
        assert_eq!(plan.stages[0].platform, hoist_store::host_platform());
        assert_eq!(plan.stages[1].platform.to_string(), "linux/arm64");
        assert_eq!(plan.stages[2].platform, target);
        let df = parse("Dockerfile", "FROM --platform=nope x\n").unwrap();
        let err = plan_err(&df, &target);
        assert!(
            err.starts_with("Dockerfile:1:17: FROM --platform=nope"),
            "{err}"
        );
    }

    fn plan_err(df: &Dockerfile, target: &Platform) -> String {
        plan(df, None, &BTreeMap::new(), target)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn stage_names_must_be_unique() {
        let err = p("FROM x AS a\nFROM y AS a\n", None, &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("Dockerfile:2:1: duplicate stage name"),
            "{err}"
        );
    }

    #[test]
    fn copy_from_a_missing_stage_number() {
        let err = p("FROM x\nCOPY --from=3 /a /b\n", None, &[])
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("Dockerfile:2:13: COPY --from=3"), "{err}");
    }
}
