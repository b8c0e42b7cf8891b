//! The `pesquisa` binary: everything lives in the library; this only hands over to the CLI.

/// mimalloc instead of the C library's allocator. The shipped binary is static with musl,
/// whose allocator is slow under many threads and maps and unmaps large blocks on every
/// use; a request allocates a few hundred times, and malloc/free were 30 % of the
/// instructions of a page even with glibc's (bench/findings.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    pesquisa::cli::main()
}
