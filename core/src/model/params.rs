//! Named access to a network's parameters, for export, parity checks and tests.

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::Tensor;

/// One parameter tensor copied to the host.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedParam {
    /// Dotted module path, e.g. `blocks.0.attention.qkv.weight`.
    pub name: String,
    /// Shape as Burn stores it (a `Linear` weight is `[in, out]`).
    pub shape: Vec<usize>,
    /// Values, row-major.
    pub values: Vec<f32>,
}

#[derive(Default)]
struct Collector {
    path: Vec<String>,
    params: Vec<NamedParam>,
}

impl ModuleVisitor for Collector {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let tensor = param.val();
        let shape = tensor.dims().to_vec();
        let values = tensor
            .into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .unwrap_or_default();
        self.params.push(NamedParam {
            name: self.path.join("."),
            shape,
            values,
        });
    }
}

/// Every float parameter of `module`, in visiting order, copied to the host.
pub fn named_params<M: Module>(module: &M) -> Vec<NamedParam> {
    let mut collector = Collector::default();
    module.visit(&mut collector);
    collector.params
}

#[derive(Default)]
struct NameCollector {
    path: Vec<String>,
    names: Vec<String>,
}

impl ModuleVisitor for NameCollector {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, _param: &Param<Tensor<D>>) {
        self.names.push(self.path.join("."));
    }
}

/// The dotted path of every float parameter of `module`, in visiting order (no data copied).
pub fn param_names<M: Module>(module: &M) -> Vec<String> {
    let mut collector = NameCollector::default();
    module.visit(&mut collector);
    collector.names
}
