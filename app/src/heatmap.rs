//! The attention overlay: an egui paint callback that draws `shaders/attention_overlay.wgsl`
//! over the camera image, with the attention grid uploaded as a small texture each time it
//! changes. The pipeline is built once per renderer and kept in egui's callback resources.

use eframe::egui;
use eframe::egui_wgpu::{self, CallbackResources, CallbackTrait, RenderState, wgpu};

/// The overlay's WGSL source (validated by a naga test).
pub const SHADER: &str = include_str!("../../shaders/attention_overlay.wgsl");

/// GPU objects of the overlay, shared by every draw.
struct OverlayResources {
    pipeline: wgpu::RenderPipeline,
    layout: wgpu::BindGroupLayout,
    sampler: wgpu::Sampler,
    uniform: wgpu::Buffer,
    texture: Option<(wgpu::Texture, u32)>,
    bind_group: Option<wgpu::BindGroup>,
    uploaded: Vec<u8>,
}

/// Builds the overlay pipeline for the window's renderer. Without it (no wgpu renderer), the
/// scene panel falls back to painting the grid as egui rectangles.
pub fn install(render_state: &RenderState) {
    let device = &render_state.device;
    let shader = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("attention overlay"),
        source: wgpu::ShaderSource::Wgsl(SHADER.into()),
    });
    let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some("attention overlay"),
        entries: &[
            wgpu::BindGroupLayoutEntry {
                binding: 0,
                visibility: wgpu::ShaderStages::FRAGMENT,
                ty: wgpu::BindingType::Buffer {
                    ty: wgpu::BufferBindingType::Uniform,
                    has_dynamic_offset: false,
                    min_binding_size: None,
                },
                count: None,
            },
            wgpu::BindGroupLayoutEntry {
                binding: 1,
                visibility: wgpu::ShaderStages::FRAGMENT,
                ty: wgpu::BindingType::Texture {
                    sample_type: wgpu::TextureSampleType::Float { filterable: true },
                    view_dimension: wgpu::TextureViewDimension::D2,
                    multisampled: false,
                },
                count: None,
            },
            wgpu::BindGroupLayoutEntry {
                binding: 2,
                visibility: wgpu::ShaderStages::FRAGMENT,
                ty: wgpu::BindingType::Sampler(wgpu::SamplerBindingType::Filtering),
                count: None,
            },
        ],
    });
    let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some("attention overlay"),
        bind_group_layouts: &[Some(&layout)],
        immediate_size: 0,
    });
    let pipeline = device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
        label: Some("attention overlay"),
        layout: Some(&pipeline_layout),
        vertex: wgpu::VertexState {
            module: &shader,
            entry_point: Some("vs_main"),
            buffers: &[],
            compilation_options: Default::default(),
        },
        fragment: Some(wgpu::FragmentState {
            module: &shader,
            entry_point: Some("fs_main"),
            targets: &[Some(wgpu::ColorTargetState {
                format: render_state.target_format,
                blend: Some(wgpu::BlendState::PREMULTIPLIED_ALPHA_BLENDING),
                write_mask: wgpu::ColorWrites::ALL,
            })],
            compilation_options: Default::default(),
        }),
        primitive: wgpu::PrimitiveState::default(),
        depth_stencil: None,
        multisample: wgpu::MultisampleState::default(),
        multiview_mask: None,
        cache: None,
    });
    let sampler = device.create_sampler(&wgpu::SamplerDescriptor {
        label: Some("attention overlay"),
        mag_filter: wgpu::FilterMode::Linear,
        min_filter: wgpu::FilterMode::Linear,
        address_mode_u: wgpu::AddressMode::ClampToEdge,
        address_mode_v: wgpu::AddressMode::ClampToEdge,
        ..Default::default()
    });
    let uniform = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("attention overlay"),
        size: 16,
        usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    render_state
        .renderer
        .write()
        .callback_resources
        .insert(OverlayResources {
            pipeline,
            layout,
            sampler,
            uniform,
            texture: None,
            bind_group: None,
            uploaded: Vec::new(),
        });
}

/// One draw of the overlay: a `grid × grid` attention map normalised to `[0, 1]`.
pub struct OverlayCallback {
    /// Normalised attention, row-major, one byte per patch.
    pub values: Vec<u8>,
    /// Grid side.
    pub grid: u32,
    /// Overlay opacity.
    pub opacity: f32,
}

impl OverlayCallback {
    /// Normalises `attention` (one value per patch) for drawing.
    pub fn new(attention: &[f32], grid: u32, opacity: f32) -> Self {
        OverlayCallback {
            values: normalise(attention),
            grid,
            opacity,
        }
    }

    /// The paint callback for `rect`.
    pub fn paint(self, rect: egui::Rect) -> egui::PaintCallback {
        egui_wgpu::Callback::new_paint_callback(rect, self)
    }
}

/// Scales attention to bytes, the largest value to 255.
pub fn normalise(attention: &[f32]) -> Vec<u8> {
    let max = attention.iter().copied().fold(0.0f32, f32::max).max(1e-9);
    attention
        .iter()
        .map(|v| ((v / max).clamp(0.0, 1.0) * 255.0).round() as u8)
        .collect()
}

impl CallbackTrait for OverlayCallback {
    fn prepare(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        _screen: &egui_wgpu::ScreenDescriptor,
        _encoder: &mut wgpu::CommandEncoder,
        resources: &mut CallbackResources,
    ) -> Vec<wgpu::CommandBuffer> {
        let Some(res) = resources.get_mut::<OverlayResources>() else {
            return Vec::new();
        };
        let params: Vec<u8> = [self.opacity, 0.8, 0.0, 0.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        queue.write_buffer(&res.uniform, 0, &params);
        let grid = self.grid.max(1);
        if res.texture.as_ref().is_none_or(|(_, g)| *g != grid) {
            let texture = device.create_texture(&wgpu::TextureDescriptor {
                label: Some("attention grid"),
                size: wgpu::Extent3d {
                    width: grid,
                    height: grid,
                    depth_or_array_layers: 1,
                },
                mip_level_count: 1,
                sample_count: 1,
                dimension: wgpu::TextureDimension::D2,
                format: wgpu::TextureFormat::Rgba8Unorm,
                usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
                view_formats: &[],
            });
            let view = texture.create_view(&wgpu::TextureViewDescriptor::default());
            res.bind_group = Some(device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("attention overlay"),
                layout: &res.layout,
                entries: &[
                    wgpu::BindGroupEntry {
                        binding: 0,
                        resource: res.uniform.as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 1,
                        resource: wgpu::BindingResource::TextureView(&view),
                    },
                    wgpu::BindGroupEntry {
                        binding: 2,
                        resource: wgpu::BindingResource::Sampler(&res.sampler),
                    },
                ],
            }));
            res.texture = Some((texture, grid));
            res.uploaded.clear();
        }
        if res.uploaded != self.values
            && self.values.len() == (grid * grid) as usize
            && let Some((texture, _)) = &res.texture
        {
            let rgba: Vec<u8> = self.values.iter().flat_map(|&v| [v, v, v, 255]).collect();
            queue.write_texture(
                wgpu::TexelCopyTextureInfo {
                    texture,
                    mip_level: 0,
                    origin: wgpu::Origin3d::ZERO,
                    aspect: wgpu::TextureAspect::All,
                },
                &rgba,
                wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(4 * grid),
                    rows_per_image: Some(grid),
                },
                wgpu::Extent3d {
                    width: grid,
                    height: grid,
                    depth_or_array_layers: 1,
                },
            );
            res.uploaded = self.values.clone();
        }
        Vec::new()
    }

    fn paint(
        &self,
        _info: egui::PaintCallbackInfo,
        render_pass: &mut wgpu::RenderPass<'static>,
        resources: &CallbackResources,
    ) {
        let Some(res) = resources.get::<OverlayResources>() else {
            return;
        };
        let Some(bind_group) = &res.bind_group else {
            return;
        };
        render_pass.set_pipeline(&res.pipeline);
        render_pass.set_bind_group(0, bind_group, &[]);
        render_pass.draw(0..3, 0..1);
    }
}
