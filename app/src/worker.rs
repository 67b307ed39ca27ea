//! The trainer thread. It owns the curriculum [`Engine`] and talks to the window only through
//! two channels: [`Command`]s in, telemetry [`Event`]s out. The window never waits on it.

use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::thread::JoinHandle;

use praxis_core::curriculum::{CurriculumSpec, Engine, EngineOptions, Tick};
use praxis_core::device::ComputeDevice;
use praxis_core::telemetry::{Command, Event};

/// Where the worker's run comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum RunSource {
    /// A new run of a curriculum, in a new directory.
    New {
        /// The curriculum (boxed: it is ten times the size of a path).
        spec: Box<CurriculumSpec>,
        /// Run directory to create.
        out: PathBuf,
    },
    /// An existing curriculum run, continued from its newest checkpoint.
    Open(PathBuf),
}

/// A running trainer thread and its two channels.
pub struct Worker {
    commands: Sender<Command>,
    /// Events from the trainer (drained by the window every frame).
    pub events: Receiver<Event>,
    handle: Option<JoinHandle<()>>,
}

impl Worker {
    /// Starts the trainer thread on `device`. With `autostart`, it runs the curriculum as
    /// soon as the engine is ready; otherwise it waits, paused.
    pub fn spawn(
        source: RunSource,
        device: ComputeDevice,
        options: EngineOptions,
        autostart: bool,
    ) -> Worker {
        let (commands, command_rx) = mpsc::channel();
        let (event_tx, events) = mpsc::channel();
        let handle = std::thread::Builder::new()
            .name("praxis-trainer".into())
            .spawn(move || serve(source, device, options, autostart, command_rx, event_tx))
            .ok();
        Worker {
            commands,
            events,
            handle,
        }
    }

    /// Sends a command (ignored if the trainer has gone).
    pub fn send(&self, command: Command) {
        let _ = self.commands.send(command);
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.commands.send(Command::Stop);
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

/// Gives the trainer thread (and the threads it starts, which inherit it) a lower scheduling
/// priority than the window, so on a machine with few cores, where the GPU may itself be
/// emulated on the CPU, drawing is never starved by training.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority on the calling thread (who = 0) has no memory-safety preconditions.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 15);
    }
}

fn fail(events: &Sender<Event>, message: impl std::fmt::Display) {
    let message = message.to_string();
    let _ = events.send(Event::Failed {
        message: message.lines().next().unwrap_or_default().to_string(),
    });
}

fn serve(
    source: RunSource,
    device: ComputeDevice,
    options: EngineOptions,
    autostart: bool,
    commands: Receiver<Command>,
    events: Sender<Event>,
) {
    lower_priority();
    let engine = match source {
        RunSource::New { spec, out } => {
            Engine::create(&out, *spec, device, Some(events.clone()), options)
        }
        RunSource::Open(dir) => Engine::open(&dir, device, Some(events.clone()), options),
    };
    let mut engine = match engine {
        Ok(engine) => engine,
        Err(e) => return fail(&events, e),
    };
    // show the current policy in the scene at once
    if let Err(e) = engine.probe() {
        fail(&events, e);
    }
    let mut running = autostart;
    let mut remaining = 0u64;
    if running {
        let _ = engine.resume();
    }
    loop {
        let busy = running || remaining > 0;
        let command = if busy {
            match commands.try_recv() {
                Ok(c) => Some(c),
                Err(TryRecvError::Empty) => None,
                Err(TryRecvError::Disconnected) => return,
            }
        } else {
            match commands.recv() {
                Ok(c) => Some(c),
                Err(_) => return,
            }
        };
        if let Some(command) = command {
            let result = match command {
                Command::Run => {
                    running = true;
                    engine.resume()
                }
                Command::Pause => {
                    running = false;
                    remaining = 0;
                    engine.pause()
                }
                Command::Step(n) => {
                    running = false;
                    remaining = n;
                    engine.resume()
                }
                Command::EvaluateGate => engine.evaluate_gate().map(|_| ()),
                Command::Advance => engine.advance(),
                Command::Rewind(dir) => {
                    running = false;
                    remaining = 0;
                    engine.pause().and_then(|_| engine.rewind(&dir))
                }
                Command::Stop => {
                    let _ = engine.pause();
                    if let Err(e) = engine.checkpoint() {
                        fail(&events, e);
                    }
                    return;
                }
            };
            if let Err(e) = result {
                fail(&events, e);
            }
            continue;
        }
        match engine.tick() {
            Ok(Tick::Trained) => {
                remaining = remaining.saturating_sub(1);
                if remaining == 0 && !running {
                    let _ = engine.pause();
                }
            }
            Ok(Tick::Promoted) => {}
            Ok(Tick::Completed) | Ok(Tick::Stalled) => {
                running = false;
                remaining = 0;
                let _ = engine.pause();
            }
            Err(e) => {
                running = false;
                remaining = 0;
                let _ = engine.pause();
                fail(&events, e);
            }
        }
    }
}
