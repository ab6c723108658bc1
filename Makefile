# heapkit - the commands a newcomer types. The build itself is CMake.
#   make demo    replay a real program's allocations through heapkit
#   make test    every build configuration, every test suite, every stage
#   make build   a plain release build in build/release
#   make clean
.PHONY: demo test build clean bench size

build:
	cmake -S . -B build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build build/release -j

demo:
	@bash scripts/demo.sh

test:
	@bash scripts/test.sh

bench:
	@bash scripts/bench.sh

size:
	@bash scripts/size.sh

clean:
	rm -rf build
