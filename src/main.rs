//! The `pesquisa` binary: everything lives in the library; this only hands over to the CLI.

/// mimalloc instead of the C library's allocator. The shipped binary is static with musl,
/// whose allocator is slow under many threads and maps and unmaps large blocks on every
/// use, and a request allocates a few hundred times (bench/findings.md). With mimalloc's
/// `override` feature the C code linked in (SQLite above all) allocates through it too.
///
/// Built with mimalloc's `no_thp` (Cargo.toml): otherwise it asks for transparent huge
/// pages on its arenas, and each thread's first small allocation then makes a whole huge
/// page resident, most of an idle server's memory (bench/findings.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    // The same for hosts whose kernel gives huge pages to every large enough mapping
    // (transparent_hugepage=always, the default of several distributions) whether asked
    // or not. Nothing here gains from them; failing to turn them off only costs memory.
    let _ = rustix::thread::disable_transparent_huge_pages(true);
    pesquisa::cli::main()
}
