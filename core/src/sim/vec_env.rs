//! Many environments stepped in parallel on all cores (rayon), for rollouts in evaluation,
//! RL and DAgger. Environments do not auto-reset: the caller resets finished ones with the
//! seed it chooses, so runs stay reproducible.

use rayon::prelude::*;

use super::env::{Action, Env, EnvConfig, Observation, StepResult};
use super::error::SimError;
use super::suite::Suite;

/// A batch of independent environments.
pub struct VecEnv {
    envs: Vec<Env>,
}

impl VecEnv {
    /// Wraps existing environments (at least one).
    pub fn new(envs: Vec<Env>) -> Result<VecEnv, SimError> {
        if envs.is_empty() {
            return Err(SimError::InvalidConfig(
                "a VecEnv needs at least one environment".into(),
            ));
        }
        Ok(VecEnv { envs })
    }

    /// `count` copies of one task.
    pub fn replicate(
        suite: &Suite,
        task: &str,
        count: usize,
        config: EnvConfig,
    ) -> Result<VecEnv, SimError> {
        VecEnv::new(
            (0..count)
                .map(|_| Env::new(suite, task, config))
                .collect::<Result<_, _>>()?,
        )
    }

    /// One environment per task of the suite.
    pub fn per_task(suite: &Suite, config: EnvConfig) -> Result<VecEnv, SimError> {
        VecEnv::new(
            suite
                .tasks
                .iter()
                .map(|t| Env::new(suite, &t.name, config))
                .collect::<Result<_, _>>()?,
        )
    }

    /// Number of environments.
    pub fn len(&self) -> usize {
        self.envs.len()
    }

    /// Always false: a VecEnv has at least one environment.
    pub fn is_empty(&self) -> bool {
        self.envs.is_empty()
    }

    /// The environments, e.g. for the teacher or to reset one.
    pub fn envs(&self) -> &[Env] {
        &self.envs
    }

    /// Mutable access to the environments.
    pub fn envs_mut(&mut self) -> &mut [Env] {
        &mut self.envs
    }

    /// Resets every environment, `seeds[i]` for environment `i`.
    pub fn reset(&mut self, seeds: &[u64]) -> Result<Vec<Observation>, SimError> {
        self.check_len(seeds.len())?;
        self.envs
            .par_iter_mut()
            .zip(seeds)
            .map(|(env, &seed)| env.reset(seed))
            .collect()
    }

    /// Steps every environment with its action, in parallel. Fails with the first error (by
    /// index) if any action is invalid; the other environments have still stepped.
    pub fn step(&mut self, actions: &[Action]) -> Result<Vec<StepResult>, SimError> {
        self.check_len(actions.len())?;
        self.envs
            .par_iter_mut()
            .zip(actions)
            .map(|(env, action)| env.step(action))
            .collect()
    }

    fn check_len(&self, n: usize) -> Result<(), SimError> {
        if n != self.envs.len() {
            return Err(SimError::InvalidConfig(format!(
                "got {n} inputs for {} environments",
                self.envs.len()
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vec_env_matches_single_envs() {
        let suite = Suite::builtin("goal").unwrap();
        let config = EnvConfig::default();
        let mut vec_env = VecEnv::per_task(&suite, config).unwrap();
        let seeds: Vec<u64> = (0..vec_env.len() as u64).collect();
        vec_env.reset(&seeds).unwrap();
        let actions: Vec<Action> = (0..vec_env.len())
            .map(|i| Action(vec![0.5, -0.3 * i as f32 / 10.0, 1.0]))
            .collect();
        let mut batched = Vec::new();
        for _ in 0..5 {
            batched = vec_env.step(&actions).unwrap();
        }
        for (i, task) in suite.tasks.iter().enumerate() {
            let mut env = Env::new(&suite, &task.name, config).unwrap();
            env.reset(seeds[i]).unwrap();
            let mut single = None;
            for _ in 0..5 {
                single = Some(env.step(&actions[i]).unwrap());
            }
            assert_eq!(single.unwrap(), batched[i]);
        }
        assert!(vec_env.step(&actions[1..]).is_err());
    }
}
