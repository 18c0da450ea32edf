"""Points every external repository at a copy already on this machine.

The machines this project is developed on reach Debian's archive and nothing
else, so Bazel 4.2.3 must find all of its repositories locally.
tools/install_deps.sh installs what these paths name. `root` is the path from
the calling workspace to this repository's checkout.
"""

# name: path, relative to the checkout where it starts with "./".
_LOCAL_REPOSITORIES = {
    "rules_cc": "./third_party/rules_cc",
    "remote_coverage_tools": "./third_party/remote_coverage_tools",
    "rules_java": "/usr/share/bazel/rules/java",
    # Debian has two copies of platforms; only this one has the wasm32
    # constraint that Abseil's BUILD files name.
    "platforms": "/usr/share/bazel/tools/platforms",
    "bazel_skylib": "/usr/share/bazel/tools/skylib",
    "com_google_absl": "./.deps/abseil-cpp",
}

def rusty_malloc_offline_repositories(root = "."):
    for name, path in _LOCAL_REPOSITORIES.items():
        if path.startswith("./"):
            path = root + path[1:]
        native.local_repository(name = name, path = path)
    native.new_local_repository(
        name = "com_google_googletest",
        path = "/usr/src/googletest",
        build_file = "@rusty_malloc//third_party:googletest.BUILD",
    )
