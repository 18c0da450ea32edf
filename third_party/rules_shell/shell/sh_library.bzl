"""Re-exports Bazel 4.2.3's native sh_library under rules_shell's load path."""

def sh_library(**attrs):
    native.sh_library(**attrs)
