//! `Plan`: everything the child needs, computed in the parent before the clone.
use crate::builder::ContainerBuilder;
use crate::container::Container;
use crate::error::Result;
use crate::process::Process;

/// A prepared container configuration (stub).
#[derive(Debug)]
pub struct Plan {}

impl Plan {
    pub(crate) fn new(_b: &ContainerBuilder) -> Result<Plan> {
        Ok(Plan {})
    }
    /// Spawns a container from this plan.
    pub fn spawn(&self) -> Result<Container> {
        Err(crate::Error::AlreadyExited)
    }
}

pub(crate) fn validate_process(_p: &Process) -> Result<()> {
    Ok(())
}
