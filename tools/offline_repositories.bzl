"""Points every external repository at a copy already on this machine.

The machines this project is developed on reach Debian's archive and nothing
else, so Bazel 4.2.3 must find all of its repositories locally.
tools/install_deps.sh installs what these paths name. `root` is the path from
the calling workspace to this repository's checkout.
"""

def rusty_malloc_offline_repositories(root = "."):
    native.local_repository(
        name = "rules_cc",
        path = root + "/third_party/rules_cc",
    )
    native.local_repository(
        name = "remote_coverage_tools",
        path = root + "/third_party/remote_coverage_tools",
    )
    native.local_repository(
        name = "rules_java",
        path = "/usr/share/bazel/rules/java",
    )

    # Debian has two copies of platforms; only this one has the wasm32
    # constraint that Abseil's BUILD files name.
    native.local_repository(
        name = "platforms",
        path = "/usr/share/bazel/tools/platforms",
    )
    native.local_repository(
        name = "bazel_skylib",
        path = "/usr/share/bazel/tools/skylib",
    )
    native.local_repository(
        name = "com_google_absl",
        path = root + "/.deps/abseil-cpp",
    )
    native.new_local_repository(
        name = "com_google_googletest",
        path = "/usr/src/googletest",
        build_file = "@rusty_malloc//third_party:googletest.BUILD",
    )
