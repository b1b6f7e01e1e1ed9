//! One integration-test binary (less linking and disk than one per file).

mod camera;
mod colour;
mod common;
mod deepstream;
mod embed;
#[cfg(feature = "publish")]
mod launch;
mod leak;
#[cfg(feature = "publish")]
mod publish;
#[cfg(feature = "publish")]
mod publish_tls;
mod synthsrc;
