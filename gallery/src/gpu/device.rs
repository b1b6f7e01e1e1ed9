//! One CUDA device: context, stream, cuBLAS handle and the selection kernels (compiled once by NVRTC).
//!
//! The CUDA libraries (driver, NVRTC, cuBLAS) are loaded at run time (`cudarc`'s dynamic loading), so a build with
//! the `cuda` feature runs on a machine without them and [`Gpu::open`] says which one is missing.

use super::GpuError;
use cudarc::cublas::{CudaBlas, Gemm, GemmConfig, sys::cublasOperation_t};
use cudarc::driver::{CudaContext, CudaFunction, CudaSlice, CudaStream, DevicePtr, DevicePtrMut};
use std::sync::Arc;

/// The kernels' CUDA C source (selection only; GEMMs run in cuBLAS).
const KERNELS: &str = include_str!("kernels.cu");

/// Largest k the selection kernels keep per thread (`KMAX` in kernels.cu).
pub const MAX_K: usize = 64;

/// Threads per block of the selection kernels (`THREADS` in kernels.cu).
pub(crate) const THREADS: u32 = 256;

/// An opened CUDA device with the gallery's kernels loaded.
pub struct Gpu {
    pub(crate) stream: Arc<CudaStream>,
    pub(crate) blas: CudaBlas,
    pub(crate) segment_topk: CudaFunction,
    pub(crate) rows_nearest: CudaFunction,
    name: String,
    ordinal: usize,
}

impl std::fmt::Debug for Gpu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gpu").field("ordinal", &self.ordinal).field("name", &self.name).finish()
    }
}

/// Which of the CUDA libraries `cudarc` loads at run time are absent (names as the loader searches them).
pub fn missing_libraries() -> Vec<&'static str> {
    let mut missing = Vec::new();
    // SAFETY: these only try to dlopen candidate names and close them again; no CUDA call is made.
    unsafe {
        if !cudarc::driver::sys::is_culib_present() {
            missing.push("libcuda (the NVIDIA driver)");
        }
        if !cudarc::nvrtc::sys::is_culib_present() {
            missing.push("libnvrtc (CUDA toolkit)");
        }
        if !cudarc::cublas::sys::is_culib_present() {
            missing.push("libcublas (CUDA toolkit)");
        }
    }
    missing
}

/// Compiles the selection kernels to PTX with NVRTC (needs only libnvrtc, no device): what [`Gpu::open`] loads.
pub fn compile_kernels() -> Result<cudarc::nvrtc::Ptx, GpuError> {
    // SAFETY: only tries to dlopen candidate names; no NVRTC call is made.
    if !unsafe { cudarc::nvrtc::sys::is_culib_present() } {
        return Err(GpuError::Unavailable("cannot load libnvrtc (CUDA toolkit)".into()));
    }
    cudarc::nvrtc::compile_ptx(KERNELS).map_err(|e| GpuError::Compile(e.to_string()))
}

impl Gpu {
    /// Opens device `ordinal`, compiles and loads the kernels. Errors (never panics) when a CUDA library is
    /// missing, there is no such device, or compilation fails.
    pub fn open(ordinal: usize) -> Result<Gpu, GpuError> {
        let missing = missing_libraries();
        if !missing.is_empty() {
            return Err(GpuError::Unavailable(format!(
                "cannot load {} (install the NVIDIA driver and CUDA toolkit, or add their lib folder to \
                 LD_LIBRARY_PATH)",
                missing.join(", ")
            )));
        }
        let count = CudaContext::device_count().map_err(|e| GpuError::Driver(format!("counting devices: {e}")))?;
        if ordinal >= count.max(0) as usize {
            return Err(GpuError::Unavailable(format!("no CUDA device {ordinal}: {count} device(s) present")));
        }
        let ctx = CudaContext::new(ordinal).map_err(|e| GpuError::Driver(format!("opening device {ordinal}: {e}")))?;
        let name = ctx.name().unwrap_or_else(|_| format!("CUDA device {ordinal}"));
        let stream = ctx.default_stream();
        let blas = CudaBlas::new(stream.clone()).map_err(|e| GpuError::Blas(format!("creating a handle: {e}")))?;
        let ptx = compile_kernels()?;
        let module = ctx.load_module(ptx).map_err(|e| GpuError::Driver(format!("loading the kernels: {e}")))?;
        let load = |f: &str| module.load_function(f).map_err(|e| GpuError::Driver(format!("kernel {f}: {e}")));
        Ok(Gpu {
            segment_topk: load("segment_topk")?,
            rows_nearest: load("rows_nearest")?,
            stream,
            blas,
            name,
            ordinal,
        })
    }

    /// The device's name (e.g. "NVIDIA H200").
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Copies `data` to the device.
    pub(crate) fn upload<T: cudarc::driver::DeviceRepr>(&self, data: &[T]) -> Result<CudaSlice<T>, GpuError> {
        self.stream
            .clone_htod(data)
            .map_err(|e| GpuError::Driver(format!("copying {} items to the GPU: {e}", data.len())))
    }

    /// Allocates `len` zeroed items on the device.
    pub(crate) fn zeros<T: cudarc::driver::DeviceRepr + cudarc::driver::ValidAsZeroBits>(
        &self,
        len: usize,
    ) -> Result<CudaSlice<T>, GpuError> {
        self.stream.alloc_zeros(len).map_err(|e| GpuError::Driver(format!("allocating {len} items on the GPU: {e}")))
    }

    /// Copies a device buffer back.
    pub(crate) fn download<T: cudarc::driver::DeviceRepr, S: DevicePtr<T>>(&self, src: &S) -> Result<Vec<T>, GpuError> {
        self.stream.clone_dtoh(src).map_err(|e| GpuError::Driver(format!("copying results from the GPU: {e}")))
    }

    /// Row-major `c (rows x cols) = a (rows x dim) . b (cols x dim)^T` on row-major buffers.
    ///
    /// cuBLAS is column-major: the row-major `c` is the column-major `c^T = b . a^T`, and a row-major `x x dim`
    /// buffer is a column-major `dim x x` one, so the call is `gemm(T, N)` on (b, a).
    pub(crate) fn gemm_nt<A: DevicePtr<f32>, B: DevicePtr<f32>, C: DevicePtrMut<f32>>(
        &self,
        a: &A,
        rows: usize,
        b: &B,
        cols: usize,
        dim: usize,
        c: &mut C,
    ) -> Result<(), GpuError> {
        let int = |v: usize, what: &str| {
            i32::try_from(v).map_err(|_| GpuError::TooLarge(format!("{what} = {v} exceeds cuBLAS's 32-bit sizes")))
        };
        let cfg = GemmConfig {
            transa: cublasOperation_t::CUBLAS_OP_T,
            transb: cublasOperation_t::CUBLAS_OP_N,
            m: int(cols, "columns")?,
            n: int(rows, "rows")?,
            k: int(dim, "dimension")?,
            alpha: 1.0f32,
            lda: int(dim, "dimension")?,
            ldb: int(dim, "dimension")?,
            beta: 0.0f32,
            ldc: int(cols, "columns")?,
        };
        // SAFETY: the callers size a as rows x dim, b as cols x dim and c as rows x cols (checked in debug builds
        // through the slice lengths they pass), which is exactly what this configuration reads and writes.
        unsafe { self.blas.gemm(cfg, b, a, c) }.map_err(|e| GpuError::Blas(format!("sgemm {rows}x{cols}x{dim}: {e}")))
    }

    /// Waits for the device's queued work.
    pub(crate) fn sync(&self) -> Result<(), GpuError> {
        self.stream.synchronize().map_err(|e| GpuError::Driver(format!("waiting for the GPU: {e}")))
    }
}
