//! Times the Burn kernels the praxis-s training step is made of (matmuls at the model's
//! shapes, GELU, softmax, attention forward and backward) on the flex backend, to see where a
//! step's time goes. Run: `cargo run --release --example kernel_probe`.

use burn::tensor::{Device, Distribution, Tensor};
use std::time::Instant;
fn t<F: FnMut()>(name: &str, n: usize, flops: f64, mut f: F) {
    f();
    let s = Instant::now();
    for _ in 0..n {
        f();
    }
    let dt = s.elapsed().as_secs_f64() / n as f64;
    println!(
        "{name:40} {:8.3} ms  {:6.1} GFLOP/s",
        dt * 1e3,
        flops / dt / 1e9
    );
}
fn main() {
    let d = Device::flex();
    let a = Tensor::<2>::random([2848, 128], Distribution::Default, &d);
    let w = Tensor::<2>::random([128, 512], Distribution::Default, &d);
    t(
        "matmul 2848x128x512",
        20,
        2.0 * 2848.0 * 128.0 * 512.0,
        || {
            let _ = a.clone().matmul(w.clone()).into_data();
        },
    );
    let m = Tensor::<2>::random([1024, 1024], Distribution::Default, &d);
    t("matmul 1024^3", 5, 2.0 * 1024f64.powi(3), || {
        let _ = m.clone().matmul(m.clone()).into_data();
    });
    t("gelu_approximate [32,89,512]", 20, 0.0, || {
        let _ = burn::tensor::activation::gelu_approximate(a.clone().matmul(w.clone())).into_data();
    });
    t("sigmoid", 20, 0.0, || {
        let _ = burn::tensor::activation::sigmoid(a.clone().matmul(w.clone())).into_data();
    });
    let a3 = Tensor::<3>::random([32, 89, 128], Distribution::Default, &d);
    let w3 = Tensor::<3>::random([1, 128, 512], Distribution::Default, &d);
    t(
        "matmul 3d [32,89,128]x[1,128,512]",
        20,
        2.0 * 2848.0 * 128.0 * 512.0,
        || {
            let _ = a3.clone().matmul(w3.clone()).into_data();
        },
    );
    let q = Tensor::<4>::random([32, 4, 89, 32], Distribution::Default, &d);
    let k = Tensor::<4>::random([32, 4, 32, 89], Distribution::Default, &d);
    t(
        "attn scores [32,4,89,32]x[..32,89]",
        20,
        2.0 * 128.0 * 89.0 * 89.0 * 32.0,
        || {
            let _ = q.clone().matmul(k.clone()).into_data();
        },
    );
    let big = Tensor::<3>::random([32, 89, 512], Distribution::Default, &d);
    t("gelu [32,89,512]", 20, 0.0, || {
        let _ = burn::tensor::activation::gelu(big.clone()).into_data();
    });
    t("add [32,89,512]", 20, 0.0, || {
        let _ = (big.clone() + big.clone()).into_data();
    });
    let s4 = Tensor::<4>::random([32, 4, 89, 89], Distribution::Default, &d);
    t("softmax [32,4,89,89]", 20, 0.0, || {
        let _ = burn::tensor::activation::softmax(s4.clone(), 3).into_data();
    });
    let x = Tensor::<3>::random([32, 89, 384], Distribution::Default, &d);
    t("chunk+reshape+swap qkv", 20, 0.0, || {
        let mut c = x.clone().chunk(3, 2).into_iter();
        let q = c.next().unwrap().reshape([32, 89, 4, 32]).swap_dims(1, 2);
        let _ = q.into_data();
    });
    let lin = burn::nn::LinearConfig::new(128, 512).init(&d);
    t(
        "Linear 3d [32,89,128]->512",
        20,
        2.0 * 2848.0 * 128.0 * 512.0,
        || {
            let _ = lin.forward(a3.clone()).into_data();
        },
    );
    t(
        "Linear 2d-folded [2848,128]->512",
        20,
        2.0 * 2848.0 * 128.0 * 512.0,
        || {
            let _ = lin
                .forward(a3.clone().reshape([2848, 128]))
                .reshape([32, 89, 512])
                .into_data();
        },
    );
    let v = Tensor::<4>::random([32, 4, 89, 32], Distribution::Default, &d);
    let kk = Tensor::<4>::random([32, 4, 89, 32], Distribution::Default, &d);
    t("manual attention", 20, 0.0, || {
        let s = q
            .clone()
            .matmul(kk.clone().swap_dims(2, 3))
            .mul_scalar(0.17);
        let w = burn::tensor::activation::softmax(s, 3);
        let _ = w.matmul(v.clone()).into_data();
    });
    t("fused attention op", 20, 0.0, || {
        let _ = burn::tensor::module::attention(
            q.clone(),
            kk.clone(),
            v.clone(),
            None,
            None,
            Default::default(),
        )
        .into_data();
    });
    let ad = d.clone().autodiff();
    let qa = Tensor::<4>::random([32, 4, 89, 32], Distribution::Default, &ad).require_grad();
    t("manual attention fwd+bwd", 10, 0.0, || {
        let s = qa
            .clone()
            .matmul(kk.clone().to_device(&ad).swap_dims(2, 3))
            .mul_scalar(0.17);
        let w = burn::tensor::activation::softmax(s, 3);
        let _ = w.matmul(v.clone().to_device(&ad)).sum().backward();
    });
    t("fused attention fwd+bwd", 10, 0.0, || {
        let _ = burn::tensor::module::attention(
            qa.clone(),
            kk.clone().to_device(&ad),
            v.clone().to_device(&ad),
            None,
            None,
            Default::default(),
        )
        .sum()
        .backward();
    });
    let ln = burn::nn::LayerNormConfig::new(128).init(&d);
    t("layernorm [32,89,128]", 20, 0.0, || {
        let _ = ln.forward(a3.clone()).into_data();
    });
}
