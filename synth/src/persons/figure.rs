//! The person figure: head, hair, torso, arms, legs, clothes and accessories as shapes, per viewpoint.
//!
//! Coordinates are in units of the person's height: `u` to the right of the centre line, `v` down from the
//! top of the head (feet at `v = 1`).

use std::f32::consts::PI;

use super::camera::Viewpoint;
use super::color::{Color, scale};
use super::identity::{BottomKind, HairLength, Identity, Pattern, Sleeves};
use super::pose::Pose;
use super::raster::{Painter, Shape, V2, v2};

/// Darkening of the limbs on the far side in a side view.
const FAR_SHADE: f32 = 0.78;

/// One person in one pose, placed on the image.
pub(crate) struct Figure<'a> {
    id: &'a Identity,
    pose: Pose,
    /// Top of the head, on the centre line, in pixels.
    origin: V2,
    /// Person height in pixels.
    h: f32,
    /// Vertical landmarks.
    head_y: f32,
    head_rx: f32,
    head_ry: f32,
    shoulder_y: f32,
    hip_y: f32,
    ankle_y: f32,
}

impl<'a> Figure<'a> {
    /// The figure of `id` in `pose` with the top of its head at `origin`, `height` pixels tall.
    pub fn new(id: &'a Identity, pose: &Pose, origin: V2, height: f32) -> Self {
        let head_ry = 0.064 * id.body.head;
        let side = pose.viewpoint.is_side();
        let head_rx = if side { 0.056 } else { 0.05 } * id.body.head;
        Self {
            id,
            pose: *pose,
            origin,
            h: height,
            head_y: head_ry + 0.006,
            head_rx,
            head_ry,
            shoulder_y: 2.0 * head_ry + 0.055,
            hip_y: 1.0 - id.body.legs,
            ankle_y: 0.955,
        }
    }

    fn p(&self, u: f32, v: f32) -> V2 {
        v2(self.origin.x + u * self.h, self.origin.y + v * self.h)
    }

    fn uv(&self, p: V2) -> (f32, f32) {
        ((p.x - self.origin.x) / self.h, (p.y - self.origin.y) / self.h)
    }

    fn capsule(&self, a: (f32, f32), b: (f32, f32), r: f32) -> Shape {
        Shape::Capsule { a: self.p(a.0, a.1), b: self.p(b.0, b.1), r: r * self.h }
    }

    fn ellipse(&self, c: (f32, f32), rx: f32, ry: f32) -> Shape {
        Shape::Ellipse { c: self.p(c.0, c.1), rx: rx * self.h, ry: ry * self.h }
    }

    fn poly(&self, pts: &[(f32, f32)], round: f32) -> Shape {
        Shape::Polygon { pts: pts.iter().map(|&(u, v)| self.p(u, v)).collect(), round: round * self.h }
    }

    /// The colour of the top's fabric at `(u, v)`.
    fn fabric(&self, u: f32, v: f32) -> Color {
        let top = &self.id.top;
        let second = match top.pattern {
            Pattern::Solid => false,
            Pattern::Stripes { period } => ((v - self.shoulder_y) / period).rem_euclid(1.0) >= 0.5,
            Pattern::TwoTone { split } => v > self.shoulder_y + split * (self.hip_y - self.shoulder_y),
            Pattern::Checks { period } => {
                ((u / period).floor() + ((v - self.shoulder_y) / period).floor()).rem_euclid(2.0) >= 1.0
            }
        };
        if second { top.second } else { top.color }
    }

    /// Draws the figure.
    pub fn draw(&self, painter: &mut Painter<'_>) {
        match self.pose.viewpoint {
            Viewpoint::Front => self.draw_frontal(painter, true),
            Viewpoint::Back => self.draw_frontal(painter, false),
            Viewpoint::Left => self.draw_side(painter, -1.0),
            Viewpoint::Right => self.draw_side(painter, 1.0),
        }
    }

    // ---------------------------------------------------------------------------------------------------
    // Front and back

    fn draw_frontal(&self, painter: &mut Painter<'_>, front: bool) {
        let id = self.id;
        let wf = id.body.width;
        let (sw, ww, hw) = (0.098 * wf, 0.078 * wf, 0.09 * wf);
        let (sy, hy) = (self.shoulder_y, self.hip_y);
        if front && id.hair.length == HairLength::Long {
            self.long_hair_frontal(painter);
        }
        self.legs_frontal(painter, hw);
        // Neck, torso.
        painter.fill(&self.capsule((0.0, self.head_y + self.head_ry * 0.5), (0.0, sy), 0.028), id.skin);
        let torso = self.poly(&[(-sw, sy), (sw, sy), (ww, hy + 0.005), (-ww, hy + 0.005)], 0.022);
        painter.fill_with(&torso, |p| {
            let (u, v) = self.uv(p);
            scale(self.fabric(u, v), 1.0 - 0.25 * (u / (sw + 0.02)).powi(2).min(1.0))
        });
        if front {
            if let Some(logo) = id.top.logo {
                let (c, s) = (sy + 0.085, 0.026);
                painter.fill(&self.poly(&[(-s, c - s), (s, c - s), (s, c + s), (-s, c + s)], 0.004), logo);
            }
            if let Some(pack) = id.accessories.backpack {
                for side in [-1.0, 1.0] {
                    let strap = self.capsule((side * 0.055 * wf, sy - 0.01), (side * 0.06 * wf, sy + 0.16), 0.011);
                    painter.fill(&strap, pack);
                }
            }
        } else if let Some(pack) = id.accessories.backpack {
            let (a, b) = (0.078 * wf, 0.072 * wf);
            let body = self.poly(&[(-a, sy + 0.02), (a, sy + 0.02), (b, sy + 0.23), (-b, sy + 0.23)], 0.02);
            painter.fill(&body, pack);
            let pocket = self.poly(
                &[(-b * 0.7, sy + 0.15), (b * 0.7, sy + 0.15), (b * 0.7, sy + 0.22), (-b * 0.7, sy + 0.22)],
                0.01,
            );
            painter.fill(&pocket, scale(pack, 0.75));
        }
        if !front && id.hair.length == HairLength::Long {
            self.long_hair_frontal(painter);
        }
        self.arms_frontal(painter, sw);
        if let Some(bag) = id.accessories.bag {
            // Strap from one shoulder to the bag at the other hip (mirrored between front and back).
            let side = if front { -1.0 } else { 1.0 };
            painter.fill(
                &self.capsule((-side * sw * 0.6, sy - 0.005), (side * sw * 0.95, hy - 0.04), 0.008),
                scale(bag, 0.8),
            );
            let (x0, x1) = (side * (sw * 0.7), side * (sw * 0.7 + 0.09));
            painter.fill(&self.poly(&[(x0, hy - 0.07), (x1, hy - 0.07), (x1, hy + 0.04), (x0, hy + 0.04)], 0.012), bag);
        }
        self.head_frontal(painter, front);
    }

    fn long_hair_frontal(&self, painter: &mut Painter<'_>) {
        let rx = self.head_rx;
        let bottom = self.shoulder_y + 0.08;
        let shape = self
            .poly(&[(-rx * 1.1, self.head_y), (rx * 1.1, self.head_y), (rx * 1.2, bottom), (-rx * 1.2, bottom)], 0.015);
        painter.fill(&shape, self.id.hair.color);
    }

    fn legs_frontal(&self, painter: &mut Painter<'_>, hw: f32) {
        let id = self.id;
        let wf = id.body.width;
        let hy = self.hip_y;
        let mut knee_y = 0.0;
        for side in [-1.0_f32, 1.0] {
            let offset = if side > 0.0 { PI } else { 0.0 };
            let lift = 0.035 * (self.pose.phase + offset).sin().max(0.0);
            let hip = (side * 0.05 * wf, hy + 0.02);
            let ankle = (side * 0.055 * wf, self.ankle_y - lift);
            let knee = (side * (0.056 * wf + 0.25 * lift), (hip.1 + ankle.1) / 2.0 - 0.3 * lift);
            knee_y = knee.1;
            let (thigh, shin) = match id.bottom.kind {
                BottomKind::Trousers => (id.bottom.color, id.bottom.color),
                BottomKind::Shorts | BottomKind::Skirt => (id.skin, id.skin),
            };
            painter.fill(&self.capsule(hip, knee, 0.046 * wf.sqrt()), thigh);
            painter.fill(&self.capsule(knee, ankle, 0.036 * wf.sqrt()), shin);
            if id.bottom.kind == BottomKind::Shorts {
                let end = (hip.0 + (knee.0 - hip.0) * 0.8, hip.1 + (knee.1 - hip.1) * 0.8);
                painter.fill(&self.capsule(hip, end, 0.052 * wf.sqrt()), id.bottom.color);
            }
            painter.fill(&self.ellipse((ankle.0, ankle.1 + 0.019), 0.036, 0.024), id.shoes);
        }
        if id.bottom.kind == BottomKind::Skirt {
            let bottom = knee_y + 0.03;
            let skirt =
                self.poly(&[(-hw, hy - 0.04), (hw, hy - 0.04), (hw + 0.05, bottom), (-hw - 0.05, bottom)], 0.01);
            painter.fill(&skirt, id.bottom.color);
        } else {
            let pelvis = self.poly(&[(-hw, hy - 0.04), (hw, hy - 0.04), (hw, hy + 0.05), (-hw, hy + 0.05)], 0.01);
            painter.fill(&pelvis, id.bottom.color);
        }
    }

    fn arms_frontal(&self, painter: &mut Painter<'_>, sw: f32) {
        let sy = self.shoulder_y;
        for side in [-1.0_f32, 1.0] {
            let offset = if side < 0.0 { PI } else { 0.0 };
            let forward = (self.pose.phase + offset).sin().max(0.0);
            let shoulder = (side * (sw + 0.004), sy + 0.012);
            let elbow = (side * (sw + 0.026), sy + 0.155 - 0.015 * forward);
            let wrist = (side * (sw + 0.03), sy + 0.29 - 0.05 * forward);
            self.arm(painter, shoulder, elbow, wrist, 1.0);
        }
    }

    /// An arm from shoulder to wrist, with sleeves and a hand.
    fn arm(&self, painter: &mut Painter<'_>, shoulder: (f32, f32), elbow: (f32, f32), wrist: (f32, f32), shade: f32) {
        let id = self.id;
        let r = 0.031 * id.body.width.sqrt();
        let sleeve = |p: V2| {
            let (u, v) = self.uv(p);
            scale(self.fabric(u, v), shade * 0.92)
        };
        let skin = scale(id.skin, shade);
        match id.top.sleeves {
            Sleeves::Long => {
                painter.fill_with(&self.capsule(shoulder, elbow, r), sleeve);
                painter.fill_with(&self.capsule(elbow, wrist, r * 0.88), sleeve);
            }
            Sleeves::Short => {
                painter.fill(&self.capsule(shoulder, elbow, r * 0.85), skin);
                painter.fill(&self.capsule(elbow, wrist, r * 0.8), skin);
                let end = (shoulder.0 + (elbow.0 - shoulder.0) * 0.55, shoulder.1 + (elbow.1 - shoulder.1) * 0.55);
                painter.fill_with(&self.capsule(shoulder, end, r * 1.1), sleeve);
            }
        }
        painter.fill(&self.ellipse((wrist.0, wrist.1 + 0.022), 0.024, 0.027), skin);
    }

    fn head_frontal(&self, painter: &mut Painter<'_>, front: bool) {
        let id = self.id;
        let (hy, rx, ry) = (self.head_y, self.head_rx, self.head_ry);
        let hair = id.hair.color;
        let bulk = match id.hair.length {
            HairLength::Short => 1.04,
            HairLength::Medium | HairLength::Long => 1.14,
        };
        if front {
            painter.fill(&self.ellipse((0.0, hy - 0.01), rx * bulk, ry * 0.95), hair);
            let face_ry = if id.hair.length == HairLength::Short { ry * 0.86 } else { ry * 0.8 };
            painter.fill(&self.ellipse((0.0, hy + ry - face_ry), rx * 0.9, face_ry), id.skin);
            let eye = scale(id.skin, 0.35);
            for side in [-1.0, 1.0] {
                painter.fill(&self.ellipse((side * rx * 0.4, hy + 0.01), 0.008, 0.006), eye);
            }
            painter.fill(&self.ellipse((0.0, hy + ry * 0.62), 0.011, 0.004), scale(id.skin, 0.6));
        } else {
            painter.fill(&self.ellipse((0.0, hy), rx, ry), id.skin);
            let cover = if id.hair.length == HairLength::Short { 0.95 } else { 1.06 };
            painter.fill(&self.ellipse((0.0, hy - 0.006), rx * bulk, ry * cover), hair);
        }
        if let Some(hat) = id.accessories.hat {
            let (brim_y, top_y) = (hy - ry * 0.3, hy - ry * 1.04);
            let dome =
                self.poly(&[(-rx * 1.1, brim_y), (rx * 1.1, brim_y), (rx * 0.75, top_y), (-rx * 0.75, top_y)], 0.012);
            painter.fill(&dome, hat);
            if front {
                painter.fill(&self.ellipse((0.0, brim_y), rx * 1.3, 0.012), scale(hat, 0.8));
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------
    // Side views

    /// A side view; `s` is +1 when the person faces the image's right, -1 when it faces left.
    fn draw_side(&self, painter: &mut Painter<'_>, s: f32) {
        let id = self.id;
        let wf = id.body.width;
        let d = 0.068 * wf;
        let (sy, hy) = (self.shoulder_y, self.hip_y);
        let phase = self.pose.phase;
        // Far side first, darker.
        self.arm_side(painter, s, phase + PI, FAR_SHADE);
        self.leg_side(painter, s, phase + PI, FAR_SHADE);
        if id.hair.length == HairLength::Long {
            let hair = self.poly(
                &[(-s * 0.01, self.head_y), (-s * 0.065, self.head_y), (-s * 0.07, sy + 0.08), (-s * 0.02, sy + 0.08)],
                0.012,
            );
            painter.fill(&hair, id.hair.color);
        }
        if let Some(pack) = id.accessories.backpack {
            let body = self.poly(
                &[
                    (-s * (d - 0.01), sy + 0.015),
                    (-s * (d + 0.07), sy + 0.03),
                    (-s * (d + 0.065), sy + 0.23),
                    (-s * (d - 0.01), sy + 0.23),
                ],
                0.018,
            );
            painter.fill(&body, pack);
        }
        self.leg_side(painter, s, phase, 1.0);
        if id.bottom.kind == BottomKind::Skirt {
            let bottom = (hy + self.ankle_y) / 2.0 + 0.03;
            let skirt = self.poly(
                &[(-s * d, hy - 0.04), (s * d, hy - 0.04), (s * (d + 0.05), bottom), (-s * (d + 0.04), bottom)],
                0.01,
            );
            painter.fill(&skirt, id.bottom.color);
        } else {
            let pelvis = self.poly(
                &[
                    (-s * d * 0.95, hy - 0.04),
                    (s * d * 0.95, hy - 0.04),
                    (s * d * 0.9, hy + 0.05),
                    (-s * d * 0.9, hy + 0.05),
                ],
                0.012,
            );
            painter.fill(&pelvis, id.bottom.color);
        }
        painter.fill(&self.capsule((0.0, self.head_y + self.head_ry * 0.5), (0.0, sy), 0.026), id.skin);
        let torso = self.poly(
            &[(-s * d, sy), (s * (d + 0.008), sy), (s * d * 0.85, hy + 0.005), (-s * d * 0.9, hy + 0.005)],
            0.022,
        );
        painter.fill_with(&torso, |p| {
            let (u, v) = self.uv(p);
            scale(self.fabric(u, v), 1.0 - 0.2 * (u / (d + 0.02)).powi(2).min(1.0))
        });
        if let Some(pack) = id.accessories.backpack {
            painter.fill(&self.capsule((-s * d * 0.2, sy - 0.005), (s * d * 0.4, sy + 0.13), 0.009), pack);
        }
        self.head_side(painter, s);
        if let Some(bag) = id.accessories.bag {
            painter.fill(&self.capsule((-s * d * 0.5, sy - 0.005), (s * d * 0.2, hy - 0.05), 0.008), scale(bag, 0.8));
            let (x0, x1) = (-s * 0.035, s * 0.05);
            painter.fill(&self.poly(&[(x0, hy - 0.07), (x1, hy - 0.07), (x1, hy + 0.04), (x0, hy + 0.04)], 0.012), bag);
        }
        self.arm_side(painter, s, phase, 1.0);
    }

    /// One leg in a side view, walking with `phase`.
    fn leg_side(&self, painter: &mut Painter<'_>, s: f32, phase: f32, shade: f32) {
        let id = self.id;
        let wf = id.body.width.sqrt();
        let hip = (0.0, self.hip_y + 0.02);
        let len = (self.ankle_y - hip.1) / 2.0;
        let swing = 0.42 * phase.sin();
        let bend = 0.6 * phase.cos().max(0.0);
        let knee = (hip.0 + s * len * swing.sin(), hip.1 + len * swing.cos());
        let shin_angle = swing - bend;
        let ankle = (knee.0 + s * len * shin_angle.sin(), knee.1 + len * shin_angle.cos());
        let bottom = scale(id.bottom.color, shade);
        let skin = scale(id.skin, shade);
        let (thigh, shin) = match id.bottom.kind {
            BottomKind::Trousers => (bottom, bottom),
            BottomKind::Shorts | BottomKind::Skirt => (skin, skin),
        };
        painter.fill(&self.capsule(hip, knee, 0.046 * wf), thigh);
        painter.fill(&self.capsule(knee, ankle, 0.036 * wf), shin);
        if id.bottom.kind == BottomKind::Shorts {
            let end = (hip.0 + (knee.0 - hip.0) * 0.8, hip.1 + (knee.1 - hip.1) * 0.8);
            painter.fill(&self.capsule(hip, end, 0.052 * wf), bottom);
        }
        let shoe = self.ellipse((ankle.0 + s * 0.02, ankle.1 + 0.02), 0.05, 0.022);
        painter.fill(&shoe, scale(id.shoes, shade));
    }

    /// One arm in a side view; it swings against the leg of the same `phase`.
    fn arm_side(&self, painter: &mut Painter<'_>, s: f32, phase: f32, shade: f32) {
        let shoulder = (s * 0.006, self.shoulder_y + 0.022);
        let swing = -0.38 * phase.sin();
        let elbow = (shoulder.0 + s * 0.15 * swing.sin(), shoulder.1 + 0.15 * swing.cos());
        let fore = swing + 0.15 + 0.3 * (-phase.sin()).max(0.0);
        let wrist = (elbow.0 + s * 0.14 * fore.sin(), elbow.1 + 0.14 * fore.cos());
        self.arm(painter, shoulder, elbow, wrist, shade);
    }

    fn head_side(&self, painter: &mut Painter<'_>, s: f32) {
        let id = self.id;
        let (hy, rx, ry) = (self.head_y, self.head_rx, self.head_ry);
        painter.fill(&self.ellipse((0.0, hy), rx, ry), id.skin);
        painter.fill(&self.ellipse((s * rx * 0.95, hy + 0.012), 0.012, 0.01), id.skin);
        let (shift, cover) = match id.hair.length {
            HairLength::Short => (0.016, 0.92),
            HairLength::Medium | HairLength::Long => (0.02, 1.0),
        };
        painter.fill(&self.ellipse((-s * shift, hy - 0.008), rx * 0.95, ry * cover), id.hair.color);
        painter.fill(&self.ellipse((s * rx * 0.6, hy + 0.004), 0.007, 0.006), scale(id.skin, 0.35));
        if let Some(hat) = id.accessories.hat {
            let (brim_y, top_y) = (hy - ry * 0.3, hy - ry * 1.04);
            let dome =
                self.poly(&[(-rx * 1.08, brim_y), (rx * 1.08, brim_y), (rx * 0.75, top_y), (-rx * 0.75, top_y)], 0.012);
            painter.fill(&dome, hat);
            painter.fill(&self.capsule((0.0, brim_y), (s * (rx + 0.045), brim_y + 0.005), 0.008), scale(hat, 0.8));
        }
    }
}
