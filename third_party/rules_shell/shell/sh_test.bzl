"""Re-exports Bazel 4.2.3's native sh_test under rules_shell's load path."""

def sh_test(**attrs):
    native.sh_test(**attrs)
