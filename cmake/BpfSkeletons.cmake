# eBPF programs as libbpf skeletons, for every library that has *.bpf.c files (the
# probes, the drivers' sink).
#
# A program is compiled with clang for the BPF target against a vmlinux.h dumped from the
# build machine's kernel BTF (CO-RE: libbpf relocates field offsets on the machine that
# loads it), then turned into a skeleton header with `bpftool gen skeleton`. vmlinux.h,
# the objects and the skeletons are build outputs under ${CMAKE_BINARY_DIR}/generated: a
# program in FOLDER/name.bpf.c gives "FOLDER/name.skel.h" to the library's sources.

find_program(ZCB_BPFTOOL bpftool PATHS /usr/sbin /sbin REQUIRED)
find_program(ZCB_BPF_CLANG NAMES clang clang-16 clang-15 clang-14 REQUIRED)
find_program(ZCB_LLVM_STRIP NAMES llvm-strip llvm-strip-16 llvm-strip-15 llvm-strip-14)
set(ZCB_VMLINUX_BTF "/sys/kernel/btf/vmlinux" CACHE FILEPATH
    "kernel BTF that vmlinux.h is generated from (CO-RE makes the programs portable to other kernels)")

if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|amd64|AMD64")
  set(ZCB_BPF_ARCH x86)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64|arm64")
  set(ZCB_BPF_ARCH arm64)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "ppc64")
  set(ZCB_BPF_ARCH powerpc)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "s390")
  set(ZCB_BPF_ARCH s390)
else()
  set(ZCB_BPF_ARCH ${CMAKE_SYSTEM_PROCESSOR})
endif()

set(ZCB_BPF_GENERATED ${CMAKE_BINARY_DIR}/generated)
file(MAKE_DIRECTORY ${ZCB_BPF_GENERATED})

# One vmlinux.h for every program, made once.
set(ZCB_VMLINUX_H ${ZCB_BPF_GENERATED}/vmlinux.h)
add_custom_command(
  OUTPUT ${ZCB_VMLINUX_H}
  COMMAND ${ZCB_BPFTOOL} btf dump file ${ZCB_VMLINUX_BTF} format c > ${ZCB_VMLINUX_H}.tmp
  COMMAND ${CMAKE_COMMAND} -E rename ${ZCB_VMLINUX_H}.tmp ${ZCB_VMLINUX_H}
  COMMENT "Generating vmlinux.h from ${ZCB_VMLINUX_BTF}"
  VERBATIM)
add_custom_target(zcb_vmlinux_h DEPENDS ${ZCB_VMLINUX_H})

# zcb_bpf_skeletons(<library>): compiles every *.bpf.c of the calling folder, generates
# its skeleton, and makes <library> depend on them and see them by path from the
# repository root ("drivers/sink_counter.skel.h"). The folder's *.h and *.bpf.h files are
# the programs' headers (types shared with the loaders).
function(zcb_bpf_skeletons library)
  file(RELATIVE_PATH folder ${CMAKE_SOURCE_DIR} ${CMAKE_CURRENT_SOURCE_DIR})
  set(out ${ZCB_BPF_GENERATED}/${folder})
  file(MAKE_DIRECTORY ${out})
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.bpf.c)
  file(GLOB headers CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.h)
  set(skeletons)
  foreach(source ${sources})
    get_filename_component(name ${source} NAME_WE)  # tlb_flush.bpf.c -> tlb_flush
    set(object ${out}/${name}.bpf.o)
    set(skeleton ${out}/${name}.skel.h)
    if(ZCB_LLVM_STRIP)
      # Drop DWARF but keep BTF, as libbpf-tools does: smaller skeletons.
      set(strip_command COMMAND ${ZCB_LLVM_STRIP} -g ${object})
    else()
      set(strip_command)
    endif()
    add_custom_command(
      OUTPUT ${object}
      COMMAND ${ZCB_BPF_CLANG} -target bpf -g -O2 -Wall -D__TARGET_ARCH_${ZCB_BPF_ARCH}
              -I${ZCB_BPF_GENERATED} -I${CMAKE_SOURCE_DIR} -c ${source} -o ${object}
      ${strip_command}
      DEPENDS ${source} ${headers} ${ZCB_VMLINUX_H} zcb_vmlinux_h
      COMMENT "Compiling BPF program ${folder}/${name}.bpf.c"
      VERBATIM)
    add_custom_command(
      OUTPUT ${skeleton}
      COMMAND ${ZCB_BPFTOOL} gen skeleton ${object} name ${name}_bpf > ${skeleton}.tmp
      COMMAND ${CMAKE_COMMAND} -E rename ${skeleton}.tmp ${skeleton}
      DEPENDS ${object}
      COMMENT "Generating BPF skeleton ${folder}/${name}.skel.h"
      VERBATIM)
    list(APPEND skeletons ${skeleton})
  endforeach()
  add_custom_target(${library}_bpf_skeletons DEPENDS ${skeletons})
  add_dependencies(${library} ${library}_bpf_skeletons)
  target_include_directories(${library} PRIVATE ${ZCB_BPF_GENERATED})
  target_link_libraries(${library} PUBLIC PkgConfig::LIBBPF)
endfunction()
