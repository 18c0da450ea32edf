"""Points every external repository at a copy on this machine, if it has one.

The machines this project is developed on reach Debian's archive and nothing
else, so Bazel 4.2.3 must find its repositories locally there;
tools/install_deps.sh installs what these paths name. A machine without
those copies (no Debian packages, no .deps/) fetches the same repositories
from upstream instead, each pinned by its sha256, so a plain `bazel test //...`
works on a networked machine too. `root` is the path from the calling
workspace to this repository's checkout.

The shims in third_party/ are part of the checkout and always used: with
Bazel 4.2.3 the cc and sh rules are built in, and the shims only give them
the load paths that Bazel 9 requires (see MODULE.bazel for Bazel 7+).
"""

# name: path of an in-tree shim, relative to the checkout.
_SHIMS = {
    "rules_cc": "third_party/rules_cc",
    "rules_shell": "third_party/rules_shell",
    "remote_coverage_tools": "third_party/remote_coverage_tools",
}

# name: the local copy (relative to the checkout where it starts with "./"),
# and the upstream archive used when that copy is absent. The checksums are
# upstream's: Abseil, GoogleTest, skylib and platforms as the Bazel Central
# Registry's source.json lists them for the same versions; rules_java as
# Bazel 4.2.3's own jdk.WORKSPACE declares it.
_LOCAL_OR_REMOTE = {
    "rules_java": struct(
        local = "/usr/share/bazel/rules/java",
        sha256 = "bc81f1ba47ef5cc68ad32225c3d0e70b8c6f6077663835438da8d5733f917598",
        strip_prefix = "rules_java-7cf3cefd652008d0a64a419c34c13bdca6c8f178",
        urls = ["https://github.com/bazelbuild/rules_java/archive/7cf3cefd652008d0a64a419c34c13bdca6c8f178.zip"],
        build_file = None,
    ),
    # Debian has two copies of platforms; only this one has the wasm32
    # constraint that Abseil's BUILD files name (upstream has it since 0.0.5).
    "platforms": struct(
        local = "/usr/share/bazel/tools/platforms",
        sha256 = "5308fc1d8865406a49427ba24a9ab53087f17f5266a7aabbfc28823f3916e1ca",
        strip_prefix = "",
        urls = ["https://github.com/bazelbuild/platforms/releases/download/0.0.6/platforms-0.0.6.tar.gz"],
        build_file = None,
    ),
    "bazel_skylib": struct(
        local = "/usr/share/bazel/tools/skylib",
        sha256 = "f7be3474d42aae265405a592bb7da8e171919d74c16f082a5457840f06054728",
        strip_prefix = "",
        urls = ["https://github.com/bazelbuild/bazel-skylib/releases/download/1.2.1/bazel-skylib-1.2.1.tar.gz"],
        build_file = None,
    ),
    "com_google_absl": struct(
        local = "./.deps/abseil-cpp",
        sha256 = "91ac87d30cc6d79f9ab974c51874a704de9c2647c40f6932597329a282217ba8",
        strip_prefix = "abseil-cpp-20220623.1",
        urls = ["https://github.com/abseil/abseil-cpp/archive/refs/tags/20220623.1.tar.gz"],
        build_file = None,
    ),
    # Debian's copy has no BUILD files, so both copies get ours: the same
    # targets and options whichever is used.
    "com_google_googletest": struct(
        local = "/usr/src/googletest",
        sha256 = "81964fe578e9bd7c94dfdb09c8e4d6e6759e19967e397dbea48d1c10e45d0df2",
        strip_prefix = "googletest-release-1.12.1",
        urls = ["https://github.com/google/googletest/archive/refs/tags/release-1.12.1.tar.gz"],
        build_file = "@rusty_malloc//third_party:googletest.BUILD",
    ),
}

def _local_or_http_archive_impl(repository_ctx):
    local = repository_ctx.attr.local
    if not local.startswith("/"):
        # Relative paths are from the main workspace, as local_repository's.
        main = repository_ctx.path(Label("@//:WORKSPACE")).dirname
        local = "%s/%s" % (main, local)
    local_path = repository_ctx.path(local)
    if local_path.exists:
        for child in local_path.readdir():
            repository_ctx.symlink(child, child.basename)
    else:
        repository_ctx.report_progress("%s absent, fetching %s" % (local, repository_ctx.attr.urls[0]))
        repository_ctx.download_and_extract(
            url = repository_ctx.attr.urls,
            sha256 = repository_ctx.attr.sha256,
            stripPrefix = repository_ctx.attr.strip_prefix,
        )
    if repository_ctx.attr.build_file:
        # file() replaces a BUILD.bazel the copy may have; a symlink would
        # write through into the local copy.
        repository_ctx.file("BUILD.bazel", repository_ctx.read(repository_ctx.attr.build_file))
    if not repository_ctx.path("WORKSPACE").exists:
        repository_ctx.file("WORKSPACE", 'workspace(name = "%s")\n' % repository_ctx.name)

local_or_http_archive = repository_rule(
    implementation = _local_or_http_archive_impl,
    attrs = {
        "local": attr.string(mandatory = True, doc = "The local copy; relative paths are from the main workspace."),
        "urls": attr.string_list(mandatory = True, doc = "Upstream archive, used when `local` is absent."),
        "sha256": attr.string(mandatory = True),
        "strip_prefix": attr.string(),
        "build_file": attr.label(allow_single_file = True, doc = "Replaces the copy's BUILD.bazel."),
    },
    # Re-evaluated on each fetch, so that installing or removing a local
    # copy takes effect without `bazel clean --expunge`.
    local = True,
)

# WORKSPACE files call this as the first thing they do, as rules' own
# `*_dependencies()` macros are called: a name would name nothing.
# buildifier: disable=unnamed-macro
def rusty_malloc_offline_repositories(root = "."):
    """Declares this project's repositories, local copies where present.

    Args:
      root: the path from the calling workspace to this checkout.
    """
    for name, path in _SHIMS.items():
        native.local_repository(name = name, path = root + "/" + path)
    for name, repo in _LOCAL_OR_REMOTE.items():
        local = repo.local
        if local.startswith("./"):
            local = root + local[1:]
        local_or_http_archive(
            name = name,
            local = local,
            urls = repo.urls,
            sha256 = repo.sha256,
            strip_prefix = repo.strip_prefix,
            build_file = repo.build_file,
        )
