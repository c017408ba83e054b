//! RUN: the command runs in a container from the runtime over the stage's
//! layers; the overlay's upper directory becomes the step's layer.

use crate::dockerfile::{CommandForm, Instruction};
use crate::error::Result;

use super::stage::StageState;

pub(crate) fn run(
    state: &mut StageState,
    ins: &Instruction,
    _command: &CommandForm,
    _network: Option<&str>,
    _number: usize,
) -> Result<()> {
    Err(state.error_at(ins.pos, "RUN is not available yet in this build of hoist"))
}
