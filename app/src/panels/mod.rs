//! The window's panels, one module each; each draws from a [`RunView`](crate::view::RunView)
//! and returns what the person asked for.

pub mod attention;
pub mod curriculum;
pub mod metrics;
pub mod runs;
pub mod scene;
pub mod settings;
