//! LeRobot v3.0 datasets on fixtures Praxis writes itself: round trips through PNG-in-Parquet,
//! AV1 and H.264 video (episode boundaries, frame values within codec tolerance, state and
//! action exactly, statistics), bad input as one-line errors naming the file, and
//! post-training the shipped base on a recorded dataset lowering held-out open-loop error.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use burn::tensor::Device;
use praxis_core::checkpoint;
use praxis_core::data::lerobot::table::{self, Column, Table};
use praxis_core::data::lerobot::video::VideoCodec;
use praxis_core::data::lerobot::{
    self, CameraStorage, LeRobotDataset, Selection, Split, WriteOptions, writer,
};
use praxis_core::data::{DataError, Dataset, RecordOptions, record_demos};
use praxis_core::device::{self, Backend};
use praxis_core::open_loop;
use praxis_core::train::{self, TrainConfig};

const CAMERA: &str = "observation.images.front";
const FPS: u32 = 10;

fn record(dir: &Path, episodes: usize, image_size: u32) -> Dataset {
    let out = dir.join("praxis-demos");
    record_demos(
        &RecordOptions {
            suite: "goal".into(),
            episodes,
            out: out.clone(),
            noise_std: 0.05,
            teacher_smoothing: 0.0,
            image_size,
            seed: 3,
            keep_failures: false,
            variations: Default::default(),
        },
        &mut |_| {},
    )
    .unwrap();
    Dataset::open(&out).unwrap()
}

fn write(source: &Dataset, dir: &Path, camera: CameraStorage) -> PathBuf {
    let root = dir.join(format!("lerobot-{camera:?}"));
    writer::write(
        &root,
        source.episodes(),
        &WriteOptions {
            camera,
            fps: FPS,
            robot_type: "praxis-arm".into(),
        },
    )
    .unwrap();
    root
}

fn select() -> Selection<'static> {
    Selection {
        camera: CAMERA,
        state: "observation.state",
        action: "action",
    }
}

/// Writes, reads back and compares; returns the mean absolute pixel error.
fn round_trip(camera: CameraStorage) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let source = record(dir.path(), 3, 32);
    let root = write(&source, dir.path(), camera);
    let ds = LeRobotDataset::open(&root).unwrap();
    assert_eq!(ds.episodes().len(), 3);
    assert_eq!(ds.info().fps, FPS);
    let all: Vec<u32> = (0..3).collect();
    let raw = ds.read_episodes(&all, select()).unwrap();
    let (mut err, mut n) = (0.0, 0usize);
    let mut start = 0;
    for (e, (r, s)) in ds.episodes().iter().zip(raw.iter().zip(source.episodes())) {
        // Episode boundaries.
        assert_eq!(r.len(), s.len());
        assert_eq!(e.length, s.len());
        assert_eq!(e.dataset_from_index, start as i64);
        assert_eq!(e.dataset_to_index, (start + s.len()) as i64);
        if let Some(span) = e.videos.get(CAMERA) {
            assert!((span.from_timestamp - start as f64 / FPS as f64).abs() < 1e-9);
            assert!((span.to_timestamp - (start + s.len()) as f64 / FPS as f64).abs() < 1e-9);
        }
        start += s.len();
        // State, action and task exactly.
        assert_eq!(r.states, s.states);
        assert_eq!(r.actions, s.actions);
        assert_eq!(r.task, s.instruction);
        assert_eq!((r.width, r.height), (32, 32));
        // Frames.
        let flat: Vec<u8> = r.frames.concat();
        assert_eq!(flat.len(), s.images.len());
        for (a, b) in flat.iter().zip(&s.images) {
            err += (*a as f64 - *b as f64).abs();
        }
        n += flat.len();
    }
    // Statistics: stats.json agrees with the data.
    let ad = source.meta().action_dim as usize;
    let stats = lerobot::meta::load_stats(&root, "action", ad).unwrap();
    let actions: Vec<f32> = source
        .episodes()
        .iter()
        .flat_map(|e| e.actions.clone())
        .collect();
    let rows = actions.len() / ad;
    for k in 0..ad {
        let column: Vec<f32> = actions.iter().skip(k).step_by(ad).copied().collect();
        let mean = column.iter().map(|x| *x as f64).sum::<f64>() / rows as f64;
        assert!(
            (stats.mean[k] as f64 - mean).abs() < 1e-5,
            "mean of action {k}"
        );
        let min = column.iter().copied().fold(f32::INFINITY, f32::min);
        assert_eq!(stats.min[k], min);
    }
    err / n as f64
}

#[test]
fn png_images_round_trip_exactly() {
    assert_eq!(round_trip(CameraStorage::Png), 0.0);
}

#[test]
fn av1_video_round_trips_within_codec_tolerance() {
    let error = round_trip(CameraStorage::Video(VideoCodec::Av1));
    eprintln!("AV1 mean absolute pixel error {error:.3}");
    assert!(error < 6.0, "mean absolute pixel error {error}");
}

#[test]
fn h264_video_round_trips_within_codec_tolerance() {
    let error = round_trip(CameraStorage::Video(VideoCodec::H264));
    eprintln!("H.264 mean absolute pixel error {error:.3}");
    assert!(error < 6.0, "mean absolute pixel error {error}");
}

#[test]
fn the_mp4_names_its_codec_and_starts_every_episode_on_a_key_frame() {
    let dir = tempfile::tempdir().unwrap();
    let source = record(dir.path(), 2, 32);
    let root = write(&source, dir.path(), CameraStorage::Video(VideoCodec::Av1));
    let path = root.join(format!("videos/{CAMERA}/chunk-000/file-000.mp4"));
    let track = lerobot::video::mp4::demux(&path).unwrap();
    assert!(matches!(
        track.codec,
        lerobot::video::mp4::Codec::Av1 { .. }
    ));
    let first = source.episodes()[0].len();
    assert!(track.frames[0].key && track.frames[first].key);
    assert_eq!(track.frames.len(), first + source.episodes()[1].len());
    assert!((track.time_of(first) - first as f64 / FPS as f64).abs() < 1e-9);
}

fn expect_err(root: &Path) -> String {
    let opened = LeRobotDataset::open(root);
    let err = match opened {
        Err(e) => e,
        Ok(ds) => {
            let all: Vec<u32> = (0..ds.episodes().len() as u32).collect();
            ds.read_episodes(&all, select()).unwrap_err()
        }
    };
    let text = err.to_string();
    assert_eq!(text.lines().count(), 1, "one line: {text}");
    text
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let target = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &target);
        } else {
            std::fs::copy(&p, &target).unwrap();
        }
    }
}

#[test]
fn bad_datasets_are_one_line_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let source = record(dir.path(), 2, 32);
    let good = write(&source, dir.path(), CameraStorage::Video(VideoCodec::Av1));
    let variant = |name: &str| {
        let root = dir.path().join(name);
        copy_dir(&good, &root);
        root
    };

    // An older codebase version names the version and LeRobot's conversion.
    let old = variant("v21");
    let info = old.join("meta/info.json");
    let text = std::fs::read_to_string(&info).unwrap();
    std::fs::write(&info, text.replace("\"v3.0\"", "\"v2.1\"")).unwrap();
    let e = expect_err(&old);
    assert!(
        e.contains("v2.1") && e.contains("convert_dataset_v21_to_v30"),
        "{e}"
    );

    // A missing data file.
    let missing = variant("missing");
    std::fs::remove_file(missing.join("data/chunk-000/file-000.parquet")).unwrap();
    let e = expect_err(&missing);
    assert!(
        e.contains("file-000.parquet") && e.contains("missing"),
        "{e}"
    );

    // A truncated Parquet file.
    let truncated = variant("truncated-parquet");
    let data = truncated.join("data/chunk-000/file-000.parquet");
    let bytes = std::fs::read(&data).unwrap();
    std::fs::write(&data, &bytes[..bytes.len() / 2]).unwrap();
    let e = expect_err(&truncated);
    assert!(e.contains("file-000.parquet"), "{e}");

    // A truncated video.
    let cut = variant("truncated-video");
    let video = cut.join(format!("videos/{CAMERA}/chunk-000/file-000.mp4"));
    let bytes = std::fs::read(&video).unwrap();
    std::fs::write(&video, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let e = expect_err(&cut);
    assert!(e.contains("file-000.mp4"), "{e}");

    // Frame counts that disagree between meta/episodes and the data rows.
    let counts = variant("counts");
    let episodes = counts.join("meta/episodes/chunk-000/file-000.parquet");
    let t = Table::read(&episodes).unwrap();
    let mut length = t.i64s("length").unwrap();
    let mut to = t.i64s("dataset_to_index").unwrap();
    length[0] += 1;
    to[0] += 1;
    let col = |c: &str| format!("videos/{CAMERA}/{c}");
    let columns = vec![
        (
            "episode_index".to_string(),
            Column::I64(t.i64s("episode_index").unwrap()),
        ),
        ("length".to_string(), Column::I64(length)),
        (
            "dataset_from_index".to_string(),
            Column::I64(t.i64s("dataset_from_index").unwrap()),
        ),
        ("dataset_to_index".to_string(), Column::I64(to)),
        ("data/chunk_index".to_string(), Column::I64(vec![0, 0])),
        ("data/file_index".to_string(), Column::I64(vec![0, 0])),
        (col("chunk_index"), Column::I64(vec![0, 0])),
        (col("file_index"), Column::I64(vec![0, 0])),
        (
            col("from_timestamp"),
            Column::F64(t.f64s(&col("from_timestamp")).unwrap()),
        ),
        (
            col("to_timestamp"),
            Column::F64(t.f64s(&col("to_timestamp")).unwrap()),
        ),
    ];
    table::write(&episodes, columns, Default::default()).unwrap();
    let info = counts.join("meta/info.json");
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&info).unwrap()).unwrap();
    json["total_frames"] = (json["total_frames"].as_u64().unwrap() + 1).into();
    std::fs::write(&info, json.to_string()).unwrap();
    let e = expect_err(&counts);
    assert!(e.contains("file-000.parquet") && e.contains("rows"), "{e}");

    // A feature the mapping cannot use.
    let ds = LeRobotDataset::open(&good).unwrap();
    let e = ds
        .check(Selection {
            camera: CAMERA,
            state: "task_index",
            action: "action",
        })
        .unwrap_err();
    assert!(matches!(e, DataError::Corrupt { .. }), "{e}");
    assert!(e.to_string().contains("task_index"), "{e}");
    let e = ds
        .check(Selection {
            camera: "observation.state",
            state: "observation.state",
            action: "action",
        })
        .unwrap_err();
    assert!(e.to_string().contains("not an RGB camera"), "{e}");

    // The good one still reads.
    assert!(LeRobotDataset::open(&good).is_ok());
}

fn base_checkpoint() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/base/praxis-s-bins")
}

#[test]
fn post_training_the_base_on_a_recorded_dataset_lowers_held_out_action_error() {
    let dir = tempfile::tempdir().unwrap();
    let source = record(dir.path(), 10, 64);
    let root = write(&source, dir.path(), CameraStorage::Video(VideoCodec::Av1));
    let flex = device::open(Backend::Flex).unwrap();
    let config = TrainConfig::from_toml(
        &format!(
            "seed = 0\nsteps = 40\nbatch_size = 16\ncheckpoint_every = 40\nlog_every = 10\n\
             [model]\ninit = {:?}\n[data.lerobot]\ndir = {:?}\nheld_out_episodes = 2\n\
             [schedule]\nlr = 0.0005\nwarmup_steps = 5\n",
            base_checkpoint().display().to_string(),
            root.display().to_string()
        ),
        "lerobot.toml",
        dir.path(),
    )
    .unwrap();
    let run = dir.path().join("run");
    let outcome = train::train(&run, &config, &flex, &AtomicBool::new(false), |_| {}).unwrap();

    let trained = checkpoint::load(&outcome.checkpoint, &Device::flex()).unwrap();
    let mapping = trained.meta.data_mapping.clone().expect("mapping saved");
    assert_eq!(mapping.held_out, vec![8, 9]);
    assert_eq!(mapping.camera, CAMERA);
    let after = open_loop::evaluate(
        &trained.policy,
        &trained.meta.tokenizer,
        &mapping,
        &root,
        Split::HeldOut,
        |_, _| {},
    )
    .unwrap();
    let base = checkpoint::load(&base_checkpoint(), &Device::flex()).unwrap();
    let before = open_loop::evaluate(
        &base.policy,
        &base.meta.tokenizer,
        &mapping,
        &root,
        Split::HeldOut,
        |_, _| {},
    )
    .unwrap();
    assert_eq!(after.episodes, vec![8, 9]);
    assert_eq!(
        after.frames,
        source.episodes()[8].len() + source.episodes()[9].len()
    );
    assert!(
        after.chunk.mean_l1 < 0.8 * before.chunk.mean_l1,
        "held-out L1 {} (base {})",
        after.chunk.mean_l1,
        before.chunk.mean_l1
    );
}

/// Optional: LeRobot itself reads a Praxis-written dataset and sees the same values. Runs when
/// `PRAXIS_LEROBOT_PYTHON` names a Python with `lerobot` installed (see the README); skipped
/// otherwise.
#[test]
fn lerobot_itself_reads_praxis_datasets_when_available() {
    let Ok(python) = std::env::var("PRAXIS_LEROBOT_PYTHON") else {
        eprintln!("skipped: set PRAXIS_LEROBOT_PYTHON to a Python with lerobot installed");
        return;
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/python/read_with_lerobot.py");
    let dir = tempfile::tempdir().unwrap();
    let source = record(dir.path(), 3, 32);
    for (camera, tolerance) in [
        (CameraStorage::Png, 0.01),
        (CameraStorage::Video(VideoCodec::Av1), 3.0),
        (CameraStorage::Video(VideoCodec::H264), 3.0),
    ] {
        let root = write(&source, dir.path(), camera);
        let out = std::process::Command::new(&python)
            .arg(&script)
            .arg(&root)
            .env("HF_HUB_OFFLINE", "1")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{camera:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let frames: usize = source.episodes().iter().map(|e| e.len()).sum();
        assert_eq!(json["num_frames"].as_u64(), Some(frames as u64));
        assert_eq!(json["codebase_version"], "v3.0");
        let mut start = 0;
        for (e, bounds) in source
            .episodes()
            .iter()
            .zip(json["episode_bounds"].as_array().unwrap())
        {
            assert_eq!(bounds[0].as_u64(), Some(start as u64));
            assert_eq!(bounds[1].as_u64(), Some((start + e.len()) as u64));
            start += e.len();
        }
        let (sd, ad) = (
            source.meta().state_dim as usize,
            source.meta().action_dim as usize,
        );
        for item in json["items"].as_array().unwrap() {
            let ep = &source.episodes()[item["episode_index"].as_u64().unwrap() as usize];
            let t = item["frame_index"].as_u64().unwrap() as usize;
            let floats = |v: &serde_json::Value| -> Vec<f32> {
                v.as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_f64().unwrap() as f32)
                    .collect()
            };
            assert_eq!(floats(&item["state"]), ep.states[t * sd..(t + 1) * sd]);
            assert_eq!(floats(&item["action"]), ep.actions[t * ad..(t + 1) * ad]);
            assert_eq!(item["task"], ep.instruction.as_str());
            let img = &ep.images[t * ep.image_bytes()..(t + 1) * ep.image_bytes()];
            for (c, mean) in floats(&item["image_mean_rgb"]).iter().enumerate() {
                let ours = img
                    .iter()
                    .skip(c)
                    .step_by(3)
                    .map(|v| *v as f64)
                    .sum::<f64>()
                    / (img.len() / 3) as f64;
                assert!(
                    (*mean as f64 - ours).abs() <= tolerance,
                    "{camera:?} frame {t} channel {c}: LeRobot {mean}, source {ours}"
                );
            }
        }
    }
}

/// Optional: Praxis reads datasets LeRobot itself wrote (PNG, AV1 through SVT-AV1, H.264
/// through x264). Runs when `PRAXIS_LEROBOT_PYTHON` is set, like the test above.
#[test]
fn praxis_reads_datasets_lerobot_wrote_when_available() {
    let Ok(python) = std::env::var("PRAXIS_LEROBOT_PYTHON") else {
        eprintln!("skipped: set PRAXIS_LEROBOT_PYTHON to a Python with lerobot installed");
        return;
    };
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/python/write_with_lerobot.py");
    let dir = tempfile::tempdir().unwrap();
    for (camera, tolerance) in [("image", 0.0), ("libsvtav1", 3.0), ("h264", 3.0)] {
        let root = dir.path().join(camera);
        let out = std::process::Command::new(&python)
            .arg(&script)
            .arg(&root)
            .arg(camera)
            .env("HF_HUB_OFFLINE", "1")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{camera}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let ds = LeRobotDataset::open(&root).unwrap();
        assert_eq!(ds.episodes().len(), 2);
        assert_eq!(ds.tasks(), ["task 0", "task 1"]);
        let raw = ds.read_episodes(&[0, 1], select()).unwrap();
        assert_eq!(
            (raw[0].len(), raw[1].len()),
            (6, 5),
            "{camera}: episode boundaries"
        );
        let mut g = 0;
        for (episode, r) in raw.iter().enumerate() {
            assert_eq!(r.task, format!("task {episode}"));
            for frame in 0..r.len() {
                let gf = g as f32;
                assert_eq!(
                    r.states[frame * 3..frame * 3 + 3],
                    [gf, frame as f32, episode as f32]
                );
                assert_eq!(r.actions[frame * 2..frame * 2 + 2], [gf * 0.5, -gf]);
                let expected = [20.0 * g as f64, 100.0, 200.0 - 10.0 * g as f64];
                let pixels = &r.frames[frame];
                for (c, want) in expected.iter().enumerate() {
                    let mean = pixels
                        .iter()
                        .skip(c)
                        .step_by(3)
                        .map(|v| *v as f64)
                        .sum::<f64>()
                        / (pixels.len() / 3) as f64;
                    assert!(
                        (mean - want).abs() <= tolerance,
                        "{camera} frame {g} channel {c}: {mean} vs {want}"
                    );
                }
                g += 1;
            }
        }
    }
}
