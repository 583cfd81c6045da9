// SPDX-License-Identifier: GPL-2.0

//! KUnit suites of the workloop library. Loading the module runs them; each test
//! is named after the rule of the model it proves.

#[path = "../src/workloop.rs"]
pub mod workloop;

use kernel::prelude::*;

module! {
    type: WorkloopKunit,
    name: "workloop_kunit",
    authors: ["workloop"],
    description: "KUnit suites of the workloop library",
    license: "GPL v2",
}

struct WorkloopKunit;

impl kernel::Module for WorkloopKunit {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        Ok(Self)
    }
}
