//! The physical world: a rapier2d scene of the table, its walls, the objects and a kinematic
//! end effector, plus the grasp rule.
//!
//! # Grasp rule
//!
//! Top-down, the gripper hovers above the table. When it *closes* (open → closed) while an
//! object's centre lies within [`GRASP_RADIUS`] of the effector, the nearest such object is
//! attached: it becomes kinematic, follows the effector at a fixed offset (keeping its world
//! orientation) and, being lifted, collides with nothing. Opening the gripper puts it back
//! down as a dynamic body at rest. An open gripper passes over objects; a closed, empty one
//! is a pusher. The point pusher always collides.

use rapier2d::prelude::*;

use super::embodiment::{ArmConfig, Body, BodyCommand, EmbodimentKind};
use super::geometry::{Pose2, V2};
use super::scene::{
    BLOCK_HALF, DISC_RADIUS, ObjectShape, PlacedObject, PlacedPad, Scene, T_BAR, T_STEM,
    TRIANGLE_RADIUS,
};

/// Physics substep length, seconds.
pub const SUBSTEP_DT: f32 = 0.02;
/// Physics substeps per control step (≤ 2 keeps a state-only step under 10 µs).
pub const SUBSTEPS: usize = 2;
/// Seconds per control step.
pub const CONTROL_DT: f32 = SUBSTEP_DT * SUBSTEPS as f32;
/// Linear and angular damping: the table's friction, high enough that pushed objects stop
/// within a couple of centimetres.
pub const TABLE_DAMPING: f32 = 15.0;
/// Radius of the effector's contact disc, metres.
pub const EFFECTOR_RADIUS: f32 = 0.02;
/// An object whose centre is this close to the effector when the gripper closes is grasped.
pub const GRASP_RADIUS: f32 = 0.035;
/// The table is `[-TABLE_HALF, TABLE_HALF]²`.
pub const TABLE_HALF: f32 = 0.5;
/// Thickness of the walls around the table.
pub const WALL_THICKNESS: f32 = 0.1;

/// One object's physics handles and appearance.
#[derive(Debug, Clone)]
pub struct ObjectBody {
    pub shape: ObjectShape,
    pub color: super::scene::Color,
    body: RigidBodyHandle,
    colliders: Vec<ColliderHandle>,
}

/// An object held by the gripper.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Grasp {
    /// Index of the held object.
    pub object: usize,
    /// Object position minus effector position, fixed while held.
    pub offset: V2,
}

/// The simulated table. Built afresh at every reset, so an episode depends only on its scene.
/// A clone continues exactly as the original would (the teacher plans on one).
pub struct World {
    physics: PhysicsWorld,
    objects: Vec<ObjectBody>,
    pads: Vec<PlacedPad>,
    t_target: Option<Pose2>,
    body: Body,
    effector: RigidBodyHandle,
    effector_collider: ColliderHandle,
    grasp: Option<Grasp>,
}

impl Clone for World {
    /// Copies the simulation state; the pipelines hold only per-step workspace, so the copy
    /// gets fresh ones.
    fn clone(&self) -> World {
        let p = &self.physics;
        World {
            physics: PhysicsWorld {
                gravity: p.gravity,
                integration_parameters: p.integration_parameters,
                physics_pipeline: PhysicsPipeline::new(),
                collision_pipeline: CollisionPipeline::new(),
                islands: p.islands.clone(),
                broad_phase: p.broad_phase.clone(),
                narrow_phase: p.narrow_phase.clone(),
                bodies: p.bodies.clone(),
                colliders: p.colliders.clone(),
                impulse_joints: p.impulse_joints.clone(),
                multibody_joints: p.multibody_joints.clone(),
                soft_bodies: p.soft_bodies.clone(),
                ccd_solver: p.ccd_solver.clone(),
            },
            objects: self.objects.clone(),
            pads: self.pads.clone(),
            t_target: self.t_target,
            body: self.body.clone(),
            effector: self.effector,
            effector_collider: self.effector_collider,
            grasp: self.grasp,
        }
    }
}

impl World {
    /// Builds the physics scene for `scene` with the given body.
    pub fn new(scene: &Scene, kind: EmbodimentKind, arm: Option<ArmConfig>) -> World {
        let mut physics = PhysicsWorld::new();
        physics.gravity = Vector::ZERO;
        physics.integration_parameters.dt = SUBSTEP_DT;

        let wall_offset = TABLE_HALF + WALL_THICKNESS / 2.0;
        let long = TABLE_HALF + WALL_THICKNESS;
        let walls = [
            (
                V2::new(0.0, wall_offset),
                V2::new(long, WALL_THICKNESS / 2.0),
            ),
            (
                V2::new(0.0, -wall_offset),
                V2::new(long, WALL_THICKNESS / 2.0),
            ),
            (
                V2::new(wall_offset, 0.0),
                V2::new(WALL_THICKNESS / 2.0, long),
            ),
            (
                V2::new(-wall_offset, 0.0),
                V2::new(WALL_THICKNESS / 2.0, long),
            ),
        ];
        for (center, half) in walls {
            physics.insert_collider(
                ColliderBuilder::cuboid(half.x, half.y)
                    .translation(center)
                    .friction(0.2),
                None,
            );
        }

        let objects = scene
            .objects
            .iter()
            .map(|o| insert_object(&mut physics, o))
            .collect();

        let body = Body::new(kind, arm, V2::from(scene.effector_start));
        // A kinematic body is not woken by `set_next_kinematic_translation`, so it must never sleep.
        let effector = physics.insert_body(
            RigidBodyBuilder::kinematic_position_based()
                .translation(body.ee)
                .can_sleep(false),
        );
        let effector_collider = physics.insert_collider(
            ColliderBuilder::ball(EFFECTOR_RADIUS)
                .friction(0.3)
                .density(10.0),
            Some(effector),
        );

        let mut world = World {
            physics,
            objects,
            pads: scene.pads.clone(),
            t_target: scene.t_target,
            body,
            effector,
            effector_collider,
            grasp: None,
        };
        world.update_effector_contact();
        world
    }

    /// The controlled body (joints, effector, gripper).
    pub fn body(&self) -> &Body {
        &self.body
    }

    /// Number of objects on the table.
    pub fn num_objects(&self) -> usize {
        self.objects.len()
    }

    /// Shape and colour of object `i`.
    pub fn object(&self, i: usize) -> &ObjectBody {
        &self.objects[i]
    }

    /// Current pose of object `i`.
    pub fn object_pose(&self, i: usize) -> Pose2 {
        let rb = &self.physics.bodies[self.objects[i].body];
        let t = rb.translation();
        Pose2::new(t.x, t.y, rb.rotation().angle())
    }

    /// Every object with its current pose.
    pub fn placed_objects(&self) -> Vec<PlacedObject> {
        (0..self.objects.len())
            .map(|i| PlacedObject {
                shape: self.objects[i].shape,
                color: self.objects[i].color,
                pose: self.object_pose(i),
            })
            .collect()
    }

    /// The goal pads.
    pub fn pads(&self) -> &[PlacedPad] {
        &self.pads
    }

    /// The Push-T target pose, if the scene has one.
    pub fn t_target(&self) -> Option<Pose2> {
        self.t_target
    }

    /// The object currently held, if any.
    pub fn grasp(&self) -> Option<Grasp> {
        self.grasp
    }

    /// Advances one control step: applies the gripper command, then moves the effector (and
    /// any held object) along a straight line over [`SUBSTEPS`] physics substeps.
    pub fn apply(&mut self, cmd: BodyCommand) {
        let start = self.body.ee;
        if self.body.kind.has_gripper() {
            if cmd.gripper_closed && !self.body.gripper_closed {
                self.try_grasp(start);
            } else if !cmd.gripper_closed && self.body.gripper_closed {
                self.release();
            }
        }
        let end = cmd.ee;
        self.body.joints = cmd.joints;
        self.body.ee = end;
        self.body.gripper_closed = cmd.gripper_closed;
        self.update_effector_contact();
        for k in 1..=SUBSTEPS {
            let p = start.lerp(end, k as f32 / SUBSTEPS as f32);
            self.physics.bodies[self.effector].set_next_kinematic_translation(p);
            if let Some(grasp) = self.grasp {
                self.physics.bodies[self.objects[grasp.object].body]
                    .set_next_kinematic_translation(p + grasp.offset);
            }
            self.physics.step();
        }
    }

    fn update_effector_contact(&mut self) {
        let collides =
            !self.body.kind.has_gripper() || (self.body.gripper_closed && self.grasp.is_none());
        if let Some(c) = self.physics.colliders.get_mut(self.effector_collider) {
            c.set_enabled(collides);
        }
    }

    fn try_grasp(&mut self, at: V2) {
        let nearest = (0..self.objects.len())
            .map(|i| (i, (self.object_pose(i).position() - at).length()))
            .filter(|(_, d)| *d <= GRASP_RADIUS)
            .min_by(|a, b| a.1.total_cmp(&b.1));
        let Some((object, _)) = nearest else { return };
        let offset = self.object_pose(object).position() - at;
        let handles = self.objects[object].colliders.clone();
        for c in handles {
            if let Some(c) = self.physics.colliders.get_mut(c) {
                c.set_enabled(false);
            }
        }
        let rb = &mut self.physics.bodies[self.objects[object].body];
        rb.set_linvel(Vector::ZERO, false);
        rb.set_angvel(0.0, false);
        rb.set_body_type(RigidBodyType::KinematicPositionBased, true);
        self.grasp = Some(Grasp { object, offset });
    }

    fn release(&mut self) {
        let Some(grasp) = self.grasp.take() else {
            return;
        };
        let handles = self.objects[grasp.object].colliders.clone();
        for c in handles {
            if let Some(c) = self.physics.colliders.get_mut(c) {
                c.set_enabled(true);
            }
        }
        let rb = &mut self.physics.bodies[self.objects[grasp.object].body];
        rb.set_body_type(RigidBodyType::Dynamic, true);
        rb.set_linvel(Vector::ZERO, true);
        rb.set_angvel(0.0, true);
    }

    /// Every pose and body variable as a flat vector: used to check determinism and bounds.
    pub fn state_vector(&self) -> Vec<f32> {
        let mut v = Vec::with_capacity(self.objects.len() * 3 + 8);
        for i in 0..self.objects.len() {
            let p = self.object_pose(i);
            v.extend_from_slice(&[p.x, p.y, p.angle]);
        }
        v.extend_from_slice(&self.body.proprio());
        v.push(self.grasp.map_or(-1.0, |g| g.object as f32));
        v
    }

    /// Number of object pairs (and object–effector pairs) in active contact; for statistics.
    pub fn active_contacts(&self) -> usize {
        self.physics
            .contact_pairs()
            .filter(|p| p.has_any_active_contact())
            .count()
    }
}

fn insert_object(physics: &mut PhysicsWorld, o: &PlacedObject) -> ObjectBody {
    let body = physics.insert_body(
        RigidBodyBuilder::dynamic()
            .pose(Pose::new(o.pose.position(), o.pose.angle))
            .linear_damping(TABLE_DAMPING)
            .angular_damping(TABLE_DAMPING)
            // Contacts with the kinematic effector do not reliably wake sleeping bodies.
            .can_sleep(false),
    );
    let builders: Vec<ColliderBuilder> = match o.shape {
        ObjectShape::Block => vec![ColliderBuilder::cuboid(BLOCK_HALF, BLOCK_HALF)],
        ObjectShape::Disc => vec![ColliderBuilder::ball(DISC_RADIUS)],
        ObjectShape::Triangle => {
            let pts: Vec<Vector> = (0..3)
                .map(|i| {
                    let a = std::f32::consts::FRAC_PI_2 + i as f32 * std::f32::consts::TAU / 3.0;
                    Vector::new(a.cos(), a.sin()) * TRIANGLE_RADIUS
                })
                .collect();
            vec![
                ColliderBuilder::convex_hull(&pts)
                    .unwrap_or_else(|| ColliderBuilder::ball(TRIANGLE_RADIUS * 0.5)),
            ]
        }
        ObjectShape::T => vec![
            ColliderBuilder::cuboid(T_BAR.1[0], T_BAR.1[1]).translation(V2::from(T_BAR.0)),
            ColliderBuilder::cuboid(T_STEM.1[0], T_STEM.1[1]).translation(V2::from(T_STEM.0)),
        ],
    };
    let colliders = builders
        .into_iter()
        .map(|b| {
            physics.insert_collider(b.density(10.0).friction(0.5).restitution(0.0), Some(body))
        })
        .collect();
    ObjectBody {
        shape: o.shape,
        color: o.color,
        body,
        colliders,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::embodiment::{ActionSpace, EmbodimentKind};
    use crate::sim::scene::{Color, PlacedObject};

    fn scene(objects: Vec<PlacedObject>, start: [f32; 2]) -> Scene {
        Scene {
            objects,
            pads: vec![],
            t_target: None,
            effector_start: start,
        }
    }

    #[test]
    fn closing_over_an_object_grasps_it_and_opening_releases_it() {
        let block = PlacedObject {
            shape: ObjectShape::Block,
            color: Color::Red,
            pose: Pose2::new(0.0, 0.0, 0.3),
        };
        let mut world = World::new(&scene(vec![block], [0.0, 0.01]), EmbodimentKind::Arm3, None);
        let close = world
            .body()
            .command(&[0.0, 0.0, 1.0], ActionSpace::EeDelta)
            .unwrap();
        world.apply(close);
        assert_eq!(world.grasp().map(|g| g.object), Some(0));
        for _ in 0..10 {
            let cmd = world
                .body()
                .command(&[1.0, 0.0, 1.0], ActionSpace::EeDelta)
                .unwrap();
            world.apply(cmd);
        }
        let moved = world.object_pose(0);
        assert!(moved.x > 0.2, "held block follows the gripper: {moved:?}");
        assert!(
            (moved.angle - 0.3).abs() < 1e-4,
            "held block keeps its orientation"
        );
        let open = world
            .body()
            .command(&[0.0, 0.0, -1.0], ActionSpace::EeDelta)
            .unwrap();
        world.apply(open);
        assert!(world.grasp().is_none());
        let before = world.object_pose(0);
        for _ in 0..5 {
            let cmd = world
                .body()
                .command(&[-1.0, 0.0, -1.0], ActionSpace::EeDelta)
                .unwrap();
            world.apply(cmd);
        }
        assert!(
            (world.object_pose(0).position() - before.position()).length() < 1e-3,
            "released block stays put"
        );
    }

    #[test]
    fn closing_far_from_objects_grasps_nothing_and_a_closed_gripper_pushes() {
        let disc = PlacedObject {
            shape: ObjectShape::Disc,
            color: Color::Blue,
            pose: Pose2::new(0.0, 0.0, 0.0),
        };
        let mut world = World::new(&scene(vec![disc], [-0.2, 0.0]), EmbodimentKind::Arm3, None);
        for _ in 0..12 {
            let cmd = world
                .body()
                .command(&[1.0, 0.0, 1.0], ActionSpace::EeDelta)
                .unwrap();
            world.apply(cmd);
        }
        assert!(world.grasp().is_none());
        assert!(
            world.object_pose(0).x > 0.03,
            "the disc was pushed: {:?}",
            world.object_pose(0)
        );
    }
}
