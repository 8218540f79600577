// Compiled by the find_package consumer when the installed package has lowbit::io:
// checks that the I/O headers and their nlohmann_json dependency resolve from the install.
#include <lowbit/io/safetensors.hpp>

int main() { return 0; }
