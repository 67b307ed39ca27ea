// Attention heatmap overlay: blends an action query's attention over the image patches on top
// of the camera image in the app's scene panel. Drawn through an egui paint callback whose
// viewport is the image's rectangle: one triangle covers it, and the attention grid (one texel
// per patch, bilinearly filtered) is coloured with a perceptual colour ramp.

struct Overlay {
    // x: opacity, y: gamma applied to the normalised attention, zw: unused
    params: vec4<f32>,
};

@group(0) @binding(0) var<uniform> overlay: Overlay;
@group(0) @binding(1) var attention: texture_2d<f32>;
@group(0) @binding(2) var attention_sampler: sampler;

struct VertexOut {
    @builtin(position) position: vec4<f32>,
    @location(0) uv: vec2<f32>,
};

@vertex
fn vs_main(@builtin(vertex_index) index: u32) -> VertexOut {
    // A triangle that covers the viewport: (-1,-1), (3,-1), (-1,3).
    let x = f32(i32(index & 1u) * 4 - 1);
    let y = f32(i32(index >> 1u) * 4 - 1);
    var out: VertexOut;
    out.position = vec4<f32>(x, y, 0.0, 1.0);
    out.uv = vec2<f32>((x + 1.0) * 0.5, 1.0 - (y + 1.0) * 0.5);
    return out;
}

// A compact approximation of the "inferno" colour map.
fn ramp(t: f32) -> vec3<f32> {
    let c0 = vec3<f32>(0.0002, 0.0016, -0.0194);
    let c1 = vec3<f32>(0.1065, 0.5639, 3.9327);
    let c2 = vec3<f32>(11.6024, -3.9728, -15.9423);
    let c3 = vec3<f32>(-41.7039, 17.4363, 44.3541);
    let c4 = vec3<f32>(77.1629, -33.4023, -81.8073);
    let c5 = vec3<f32>(-71.3194, 32.6260, 73.2095);
    let c6 = vec3<f32>(25.1311, -12.2426, -23.0703);
    return clamp(c0 + t * (c1 + t * (c2 + t * (c3 + t * (c4 + t * (c5 + t * c6))))), vec3<f32>(0.0), vec3<f32>(1.0));
}

@fragment
fn fs_main(in: VertexOut) -> @location(0) vec4<f32> {
    let value = textureSample(attention, attention_sampler, in.uv).r;
    let t = pow(clamp(value, 0.0, 1.0), overlay.params.y);
    let alpha = overlay.params.x * smoothstep(0.05, 0.6, t);
    // egui blends premultiplied colours
    return vec4<f32>(ramp(t) * alpha, alpha);
}
