//! Task suites, LIBERO-style: a fixed list of task instances and fixed evaluation seeds per
//! suite, written in TOML (`assets/suites/<name>.toml`, embedded in the binary) and loaded
//! with `deny_unknown_fields` so a typo is an error, not a silent default. Also the held-out
//! variations an evaluation can switch on.

use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::embodiment::{ActionSpace, ArmConfig, EmbodimentKind};
use super::error::SimError;
use super::geometry::Pose2;
use super::language::Phrasing;
use super::scene::{Color, LAYOUT_HALF, LayoutRequest, ObjectRequest, ObjectShape, PadRequest};
use super::task::SubGoal;

/// The built-in suites: name and TOML text.
const BUILTIN: [(&str, &str); 6] = [
    (
        "spatial",
        include_str!("../../../assets/suites/spatial.toml"),
    ),
    ("object", include_str!("../../../assets/suites/object.toml")),
    ("goal", include_str!("../../../assets/suites/goal.toml")),
    ("long", include_str!("../../../assets/suites/long.toml")),
    ("pusht", include_str!("../../../assets/suites/pusht.toml")),
    (
        "arm2-object",
        include_str!("../../../assets/suites/arm2-object.toml"),
    ),
];

/// Names of the built-in suites.
pub fn builtin_suite_names() -> Vec<&'static str> {
    BUILTIN.iter().map(|(n, _)| *n).collect()
}

/// A suite: task instances that share an embodiment, an action space and evaluation seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suite {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub embodiment: EmbodimentKind,
    #[serde(default = "default_action_space")]
    pub action_space: ActionSpace,
    /// Seeds every evaluation runs each task with.
    pub eval_seeds: Vec<u64>,
    /// Uniform jitter (metres) around fixed object and pad positions.
    #[serde(default = "default_jitter")]
    pub jitter: f32,
    /// Overrides the default arm geometry of the embodiment.
    #[serde(default)]
    pub arm: Option<ArmConfig>,
    pub tasks: Vec<TaskSpec>,
}

fn default_action_space() -> ActionSpace {
    ActionSpace::EeDelta
}

fn default_jitter() -> f32 {
    0.02
}

/// One task instance: what is on the table and what must be done.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskSpec {
    pub name: String,
    #[serde(default)]
    pub objects: Vec<ObjectSpec>,
    #[serde(default)]
    pub pads: Vec<PadSpec>,
    pub goals: Vec<SubGoal>,
    #[serde(default)]
    pub phrasing: Phrasing,
    /// Episode length limit; by default the sum of per-goal budgets.
    #[serde(default)]
    pub max_steps: Option<u32>,
    /// Push-T target pose `[x, y, angle]`.
    #[serde(default)]
    pub t_target: Option<[f32; 3]>,
    /// Push-T start offset from the target: `[max distance m, max angle rad]`.
    #[serde(default)]
    pub t_offset: Option<[f32; 2]>,
    #[serde(default = "default_effector_start")]
    pub effector_start: [f32; 2],
}

fn default_effector_start() -> [f32; 2] {
    [0.0, -0.34]
}

/// An object of a task; random position unless `position` is given.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectSpec {
    pub shape: ObjectShape,
    pub color: Color,
    #[serde(default)]
    pub position: Option<[f32; 2]>,
    #[serde(default)]
    pub angle: Option<f32>,
}

/// A pad of a task; random position unless `position` is given.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PadSpec {
    pub color: Color,
    #[serde(default)]
    pub position: Option<[f32; 2]>,
}

impl Suite {
    /// A built-in suite by name.
    pub fn builtin(name: &str) -> Result<Suite, SimError> {
        let (_, text) =
            BUILTIN
                .iter()
                .find(|(n, _)| *n == name)
                .ok_or_else(|| SimError::UnknownSuite {
                    name: name.to_string(),
                    known: builtin_suite_names().join(", "),
                })?;
        Suite::from_toml_str(name, text)
    }

    /// A suite from a TOML file.
    pub fn load(path: &Path) -> Result<Suite, SimError> {
        let text = std::fs::read_to_string(path).map_err(|e| SimError::SuiteIo {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Suite::from_toml_str(&path.display().to_string(), &text)
    }

    /// A built-in suite by name, or a suite file if `name_or_path` ends in `.toml`.
    pub fn resolve(name_or_path: &str) -> Result<Suite, SimError> {
        if name_or_path.ends_with(".toml") {
            Suite::load(Path::new(name_or_path))
        } else {
            Suite::builtin(name_or_path)
        }
    }

    /// Parses and validates suite TOML; `origin` names the suite in error messages.
    pub fn from_toml_str(origin: &str, text: &str) -> Result<Suite, SimError> {
        let suite: Suite = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].lines().count().max(1));
            let reason = e.message().trim().replace('\n', " ");
            SimError::InvalidSuite {
                suite: origin.to_string(),
                reason: match line {
                    Some(l) => format!("line {l}: {reason}"),
                    None => reason,
                },
            }
        })?;
        suite.validate().map_err(|reason| SimError::InvalidSuite {
            suite: origin.to_string(),
            reason,
        })?;
        Ok(suite)
    }

    /// A task by name.
    pub fn task(&self, name: &str) -> Result<&TaskSpec, SimError> {
        self.tasks
            .iter()
            .find(|t| t.name == name)
            .ok_or_else(|| SimError::UnknownTask {
                suite: self.name.clone(),
                name: name.to_string(),
                known: self
                    .tasks
                    .iter()
                    .map(|t| t.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    fn validate(&self) -> Result<(), String> {
        if self.tasks.is_empty() {
            return Err("a suite needs at least one task".into());
        }
        if self.eval_seeds.is_empty() {
            return Err("eval_seeds is empty".into());
        }
        if !(0.0..=0.1).contains(&self.jitter) {
            return Err("jitter must be in [0, 0.1]".into());
        }
        if let Some(arm) = &self.arm {
            arm.validate(self.embodiment)?;
        }
        for (i, t) in self.tasks.iter().enumerate() {
            if self.tasks[..i].iter().any(|o| o.name == t.name) {
                return Err(format!("duplicate task name `{}`", t.name));
            }
            t.validate(self.embodiment)
                .map_err(|e| format!("task `{}`: {e}", t.name))?;
        }
        Ok(())
    }
}

impl TaskSpec {
    fn validate(&self, embodiment: EmbodimentKind) -> Result<(), String> {
        if self.goals.is_empty() || self.goals.len() > 5 {
            return Err("a task needs 1 to 5 goals".into());
        }
        if self.objects.len() > 8 || self.pads.len() > 6 {
            return Err("at most 8 objects and 6 pads".into());
        }
        let inside = |p: [f32; 2]| {
            p.iter()
                .all(|c| c.is_finite() && c.abs() <= LAYOUT_HALF + 1e-6)
        };
        for p in self
            .objects
            .iter()
            .filter_map(|o| o.position)
            .chain(self.pads.iter().filter_map(|p| p.position))
        {
            if !inside(p) {
                return Err(format!(
                    "position {p:?} is outside [-{LAYOUT_HALF}, {LAYOUT_HALF}]²"
                ));
            }
        }
        if !self
            .effector_start
            .iter()
            .all(|c| c.is_finite() && c.abs() <= 0.38)
        {
            return Err("effector_start must be inside [-0.38, 0.38]²".into());
        }
        if self.max_steps.is_some_and(|m| m == 0 || m > 10_000) {
            return Err("max_steps must be in 1..=10000".into());
        }
        for g in &self.goals {
            if let Some(o) = g.object().filter(|o| *o >= self.objects.len()) {
                return Err(format!(
                    "goal refers to object {o}, but there are {}",
                    self.objects.len()
                ));
            }
            if let Some(p) = g.pad().filter(|p| *p >= self.pads.len()) {
                return Err(format!(
                    "goal refers to pad {p}, but there are {}",
                    self.pads.len()
                ));
            }
            match g {
                SubGoal::Place { .. } if !embodiment.has_gripper() => {
                    return Err(format!(
                        "{} has no gripper, so it cannot place objects",
                        embodiment.name()
                    ));
                }
                SubGoal::CoverT { object }
                    if self.objects[*object].shape != ObjectShape::T || self.t_target.is_none() =>
                {
                    return Err("cover_t needs a T object and a t_target".into());
                }
                _ => {}
            }
        }
        if self.t_target.is_some_and(|t| {
            !t.iter().all(|c| c.is_finite()) || t[0].abs() > 0.15 || t[1].abs() > 0.15
        }) {
            return Err("t_target must be finite and within 0.15 m of the centre".into());
        }
        if self
            .t_offset
            .is_some_and(|[d, a]| !(0.0..=0.15).contains(&d) || !(0.0..=1.6).contains(&a))
        {
            return Err("t_offset must be [0..0.15 m, 0..1.6 rad]".into());
        }
        Ok(())
    }

    /// Steps before an episode is truncated.
    pub fn max_steps(&self) -> u32 {
        self.max_steps.unwrap_or_else(|| {
            self.goals
                .iter()
                .map(|g| match g {
                    SubGoal::Reach { .. } => 60,
                    SubGoal::Push { .. } => 120,
                    SubGoal::Place { .. } => 100,
                    SubGoal::CoverT { .. } => 300,
                })
                .sum()
        })
    }

    /// The layout request the scene sampler turns into poses.
    pub fn layout_request(&self, jitter: f32) -> LayoutRequest {
        LayoutRequest {
            objects: self
                .objects
                .iter()
                .map(|o| ObjectRequest {
                    shape: o.shape,
                    color: o.color,
                    position: o.position,
                    angle: o.angle,
                })
                .collect(),
            pads: self
                .pads
                .iter()
                .map(|p| PadRequest {
                    color: p.color,
                    position: p.position,
                })
                .collect(),
            jitter,
            t_target: self.t_target.map(|[x, y, a]| Pose2::new(x, y, a)),
            t_offset: self.t_offset,
            effector_start: self.effector_start,
        }
    }
}

/// How an episode differs from its suite's nominal presentation: held-out perturbations for
/// robustness evaluation (distractors ... the unseen arm; training data uses them only where a
/// config asks), and the sub-goal instruction mode of hierarchical control.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Variations {
    /// Two extra objects that no goal mentions.
    pub distractors: bool,
    /// Object and pad colours shifted per episode (names stay the same).
    pub colour_shift: bool,
    /// Global brightness and a light gradient across the table.
    pub lighting: bool,
    /// The camera moves, turns and zooms slightly per episode.
    pub camera_jitter: bool,
    /// Held-out instruction templates and synonyms.
    pub paraphrase: bool,
    /// The 4-joint arm instead of the suite's arm.
    pub unseen_embodiment: bool,
    /// The instruction names only the current sub-goal, and changes when it is reached: what
    /// a high-level planner hands a low-level policy in hierarchical VLA systems (Hi Robot,
    /// RT-H). Not a perturbation, so `all` leaves it off.
    #[serde(default)]
    pub subgoals: bool,
}

impl Variations {
    /// Names accepted by [`FromStr`], in order.
    pub const NAMES: [&'static str; 7] = [
        "distractors",
        "colour-shift",
        "lighting",
        "camera-jitter",
        "paraphrase",
        "unseen-embodiment",
        "subgoals",
    ];

    /// Every perturbation at once (not the sub-goal instruction mode).
    pub fn all() -> Variations {
        Variations {
            distractors: true,
            colour_shift: true,
            lighting: true,
            camera_jitter: true,
            paraphrase: true,
            unseen_embodiment: true,
            subgoals: false,
        }
    }

    /// The variations a config lists by name (`["lighting", "camera-jitter"]`); none when
    /// the list is empty.
    pub fn from_names(names: &[String]) -> Result<Variations, SimError> {
        names.join(",").parse()
    }

    /// Whether any variation is on.
    pub fn any(&self) -> bool {
        *self != Variations::default()
    }
}

impl FromStr for Variations {
    type Err = SimError;

    /// Parses a comma-separated list such as `distractors,paraphrase`; `none` or an empty
    /// string is no variation, `all` is every one.
    fn from_str(s: &str) -> Result<Variations, SimError> {
        let mut v = Variations::default();
        for name in s.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match name {
                "none" => {}
                "all" => v = Variations::all(),
                "distractors" => v.distractors = true,
                "colour-shift" | "color-shift" => v.colour_shift = true,
                "lighting" => v.lighting = true,
                "camera-jitter" => v.camera_jitter = true,
                "paraphrase" => v.paraphrase = true,
                "unseen-embodiment" => v.unseen_embodiment = true,
                "subgoals" => v.subgoals = true,
                other => return Err(SimError::UnknownVariation(other.to_string())),
            }
        }
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_suite_loads() {
        for name in builtin_suite_names() {
            let suite = Suite::builtin(name).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(suite.name, name);
            assert!(
                (4..=10).contains(&suite.tasks.len()),
                "{name} has {} tasks",
                suite.tasks.len()
            );
        }
    }

    #[test]
    fn bad_suites_are_one_line_typed_errors() {
        let err = Suite::builtin("kitchen").unwrap_err();
        assert!(matches!(err, SimError::UnknownSuite { .. }));
        let suite = Suite::builtin("goal").unwrap();
        assert!(matches!(
            suite.task("fly").unwrap_err(),
            SimError::UnknownTask { .. }
        ));

        let cases = [
            "name = 'x'\nembodiment = 'arm3'\neval_seeds = [0]\ntasks = []\nbogus = 1\n",
            "name = 'x'\nembodiment = 'arm9'\neval_seeds = [0]\ntasks = []\n",
            "name = 'x'\nembodiment = 'arm3'\neval_seeds = [0]\n[[tasks]]\nname = 'a'\ngoals = [{ kind = 'reach', pad = 2 }]\n",
            "name = 'x'\nembodiment = 'arm3'\neval_seeds = [0]\n[[tasks]]\nname = 'a'\npads = [{ color = 'red' }]\ngoals = [{ kind = 'reach', pad = 0, extra = 1 }]\n",
            "name = 'x'\nembodiment = 'pusher'\neval_seeds = [0]\n[[tasks]]\nname = 'a'\nobjects = [{ shape = 'block', color = 'red' }]\npads = [{ color = 'red' }]\ngoals = [{ kind = 'place', object = 0, pad = 0 }]\n",
            "name = 'x'\nembodiment = 'arm3'\neval_seeds = [0]\n[[tasks]]\nname = 'a'\n",
            "this is not toml",
        ];
        for text in cases {
            let err = Suite::from_toml_str("test", text).expect_err(text);
            assert!(matches!(err, SimError::InvalidSuite { .. }), "{err:?}");
            assert!(!err.to_string().contains('\n'), "one line: {err}");
        }
    }

    #[test]
    fn variations_parse_from_names() {
        let v: Variations = "distractors, paraphrase".parse().unwrap();
        assert!(v.distractors && v.paraphrase && !v.lighting);
        assert_eq!("all".parse::<Variations>().unwrap(), Variations::all());
        assert!(!"none".parse::<Variations>().unwrap().any());
        assert!("fog".parse::<Variations>().is_err());
    }
}
