#include "mcu/firmware.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "ir/graph.h"
#include "mcu/platform_files.h"
#include "mcu/process.h"

namespace frugal::mcu {
namespace {

namespace fs = std::filesystem;

// Unchanged files are left alone so that make rebuilds only what a new project changed.
void write_text(const fs::path& path, std::string_view text) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  // An ir::Error like every other failure here, rather than std::filesystem's wording.
  if (ec) throw ir::Error(fmt::format("cannot create directory '{}': {}", path.parent_path().string(), ec.message()));
  {
    std::ifstream existing(path, std::ios::binary);
    if (existing) {
      const std::string old_text((std::istreambuf_iterator<char>(existing)),
                                 std::istreambuf_iterator<char>());
      if (old_text == text) return;
    }
  }
  std::ofstream stream(path, std::ios::binary | std::ios::trunc);
  stream.write(text.data(), static_cast<std::streamsize>(text.size()));
  stream.close();
  if (!stream) throw ir::Error(path.string() + ": cannot write");
}

std::string replace_all(std::string text, std::string_view from, std::string_view to) {
  size_t position = 0;
  while ((position = text.find(from, position)) != std::string::npos) {
    text.replace(position, from.size(), to);
    position += to.size();
  }
  return text;
}

std::string_view platform_file(std::string_view name) {
  for (const EmbeddedFile& file : platform_files()) {
    if (file.name == name) return file.contents;
  }
  throw ir::Error(fmt::format("internal: platform file {} not embedded", name));
}

std::string linker_script(const codegen::MemoryRegion& flash, const codegen::MemoryRegion& ram,
                          uint32_t stack_bytes) {
  std::string text(platform_file("linker.ld.in"));
  text = replace_all(text, "@FLASH_ORIGIN@", fmt::format("0x{:08X}", flash.origin));
  text = replace_all(text, "@FLASH_BYTES@", fmt::format("0x{:X}", flash.bytes));
  text = replace_all(text, "@RAM_ORIGIN@", fmt::format("0x{:08X}", ram.origin));
  text = replace_all(text, "@RAM_BYTES@", fmt::format("0x{:X}", ram.bytes));
  text = replace_all(text, "@STACK_BYTES@", fmt::format("0x{:X}", stack_bytes));
  return text;
}

bool is_compiled(const fs::path& path) {
  const std::string extension = path.extension().string();
  return extension == ".c" || extension == ".cc" || extension == ".cpp" || extension == ".S";
}

void check_relative_path(const fs::path& path) {
  const std::string text = path.generic_string();
  const bool bad = text.empty() || path.is_absolute() ||
                   std::any_of(path.begin(), path.end(), [](const fs::path& part) {
                     return part == "..";
                   }) ||
                   text.find_first_of(" \t\n\r$#%:\\") != std::string::npos ||
                   text.rfind("platform/", 0) == 0 || text.rfind("build/", 0) == 0;
  if (bad) {
    throw ir::Error(fmt::format(
        "firmware source path '{}' must be relative, without '..', whitespace or make "
        "metacharacters, and outside platform/ and build/",
        text));
  }
}

// The Makefile: one object directory per target so that the two builds never mix objects
// compiled with different FRUGAL_TARGET_* defines.
std::string make_list(const std::vector<std::string>& files) {
  std::string list;
  for (const std::string& file : files) list += " \\\n  " + file;
  return list;
}

std::string makefile(const codegen::Board& board, std::span<const SourceFile> files,
                     const ProjectOptions& options) {
  std::string includes = "-I. -Iplatform";
  for (const std::string& directory : options.include_directories) includes += " -I" + directory;
  std::vector<std::string> both;
  std::vector<std::string> qemu_only;
  std::vector<std::string> board_only;
  for (const SourceFile& file : files) {
    if (!is_compiled(file.path)) continue;
    auto& list = !file.only                          ? both
                 : *file.only == FirmwareTarget::kQemu ? qemu_only
                                                     : board_only;
    list.push_back(file.path.generic_string());
  }
  const std::string sources = make_list(both);

  std::string text = fmt::format(
      "# Firmware for {name} ({description}), written by frugal.\n"
      "#   make        real board: build/board/firmware.elf (flash at 0x{flash:08X})\n"
      "#   make qemu   QEMU stand-in {machine}: build/qemu/firmware.elf (code at 0x{qflash:08X})\n"
      "CC := arm-none-eabi-gcc\n"
      "CXX := arm-none-eabi-g++\n"
      "CPU_FLAGS := {cpu}\n"
      "OPT := {opt}\n"
      "SOURCES :={sources}\n"
      "QEMU_ONLY_SOURCES :={qemu_only}\n"
      "BOARD_ONLY_SOURCES :={board_only}\n"
      "INCLUDES := {includes}\n"
      "COMMON_FLAGS := $(CPU_FLAGS) $(OPT) -g -ffunction-sections -fdata-sections -Wall "
      "-MMD -MP $(INCLUDES) {extra}\n"
      "CFLAGS := $(COMMON_FLAGS) -std=c11\n"
      "CXXFLAGS := $(COMMON_FLAGS) -std=c++17 -fno-exceptions -fno-rtti -fno-threadsafe-statics\n"
      "LDFLAGS := $(CPU_FLAGS) -nostartfiles --specs=nano.specs -Wl,--gc-sections "
      "-Wl,--print-memory-usage\n"
      "\n"
      ".PHONY: board qemu clean\n"
      "board: build/board/firmware.elf\n"
      "qemu: build/qemu/firmware.elf\n"
      "clean:\n"
      "\trm -rf build\n",
      fmt::arg("name", board.name), fmt::arg("description", board.description),
      fmt::arg("flash", board.flash.origin), fmt::arg("machine", board.qemu_machine),
      fmt::arg("qflash", board.qemu_flash.origin), fmt::arg("cpu", board.gcc_flags),
      fmt::arg("opt", options.optimization), fmt::arg("sources", sources),
      fmt::arg("qemu_only", make_list(qemu_only)), fmt::arg("board_only", make_list(board_only)),
      fmt::arg("includes", includes), fmt::arg("extra", options.extra_compile_flags));

  for (const char* target : {"qemu", "board"}) {
    const std::string upper = target == std::string_view("qemu") ? "QEMU" : "BOARD";
    text += fmt::format(
        "\n"
        "{U}_SOURCES := $(SOURCES) $({U}_ONLY_SOURCES) platform/startup.cc platform/target_{t}.cc\n"
        "{U}_OBJECTS := $(addprefix build/{t}/,$(addsuffix .o,$({U}_SOURCES)))\n"
        "build/{t}/%.c.o: %.c\n"
        "\t@mkdir -p $(@D)\n"
        "\t$(CC) $(CFLAGS) -DFRUGAL_TARGET_{U} -c $< -o $@\n"
        "build/{t}/%.cc.o: %.cc\n"
        "\t@mkdir -p $(@D)\n"
        "\t$(CXX) $(CXXFLAGS) -DFRUGAL_TARGET_{U} -c $< -o $@\n"
        "build/{t}/%.cpp.o: %.cpp\n"
        "\t@mkdir -p $(@D)\n"
        "\t$(CXX) $(CXXFLAGS) -DFRUGAL_TARGET_{U} -c $< -o $@\n"
        "build/{t}/%.S.o: %.S\n"
        "\t@mkdir -p $(@D)\n"
        "\t$(CC) $(CFLAGS) -DFRUGAL_TARGET_{U} -c $< -o $@\n"
        "build/{t}/firmware.elf: $({U}_OBJECTS) platform/{t}.ld\n"
        "\t$(CXX) $(LDFLAGS) -Tplatform/{t}.ld -Wl,-Map,build/{t}/firmware.map "
        "$({U}_OBJECTS) -o $@\n"
        "-include $({U}_OBJECTS:.o=.d)\n",
        fmt::arg("U", upper), fmt::arg("t", target));
  }
  return text;
}

// The first line a compiler or linker flags as an error, else the last non-empty line.
std::string first_error_line(const std::string& output) {
  std::istringstream lines(output);
  std::string line;
  std::string last;
  while (std::getline(lines, line)) {
    if (line.find("error") != std::string::npos || line.find("undefined reference") !=
                                                       std::string::npos) {
      return line;
    }
    if (!line.empty()) last = line;
  }
  return last;
}

// --- ELF32 (little-endian Arm) reading --------------------------------------------------

constexpr uint32_t kShtSymtab = 2;
constexpr uint32_t kShtNobits = 8;
constexpr uint32_t kShfAlloc = 2;

struct Section {
  std::string name;
  uint32_t type = 0;
  uint32_t flags = 0;
  uint32_t address = 0;
  uint32_t offset = 0;
  uint32_t size = 0;
  uint32_t link = 0;
  uint32_t entry_size = 0;
};

class ElfFile {
 public:
  explicit ElfFile(const fs::path& path) : path_(path) {
    std::ifstream stream(path, std::ios::binary);
    if (!stream) throw ir::Error(path.string() + ": cannot open");
    bytes_.assign(std::istreambuf_iterator<char>(stream), std::istreambuf_iterator<char>());
    if (bytes_.size() < 52 || std::memcmp(bytes_.data(), "\x7f" "ELF", 4) != 0 ||
        bytes_[4] != 1 || bytes_[5] != 1) {
      throw ir::Error(path.string() + ": not a 32-bit little-endian ELF file");
    }
    const uint32_t table = u32(0x20);
    const uint32_t entry_size = u16(0x2E);
    const uint32_t count = u16(0x30);
    const uint32_t names_index = u16(0x32);
    if (entry_size < 40 || names_index >= count) fail();
    for (uint32_t i = 0; i < count; ++i) {
      const size_t base = size_t{table} + size_t{i} * entry_size;
      Section section;
      section.type = u32(base + 4);
      section.flags = u32(base + 8);
      section.address = u32(base + 12);
      section.offset = u32(base + 16);
      section.size = u32(base + 20);
      section.link = u32(base + 24);
      section.entry_size = u32(base + 36);
      name_offsets_.push_back(u32(base));
      sections_.push_back(section);
    }
    for (uint32_t i = 0; i < count; ++i) {
      sections_[i].name = string_at(sections_[names_index], name_offsets_[i]);
    }
  }

  const std::vector<Section>& sections() const { return sections_; }

  std::optional<uint32_t> symbol(std::string_view name) const {
    for (const Section& table : sections_) {
      if (table.type != kShtSymtab || table.entry_size < 16 || table.link >= sections_.size()) {
        continue;
      }
      const Section& strings = sections_[table.link];
      for (uint32_t offset = 0; offset + 16 <= table.size; offset += table.entry_size) {
        const size_t base = size_t{table.offset} + offset;
        if (string_at(strings, u32(base)) == name) return u32(base + 4) & ~1u;
      }
    }
    return std::nullopt;
  }

 private:
  [[noreturn]] void fail() const { throw ir::Error(path_.string() + ": malformed ELF file"); }

  uint32_t u16(size_t offset) const {
    if (offset + 2 > bytes_.size()) fail();
    return static_cast<uint32_t>(static_cast<uint8_t>(bytes_[offset])) |
           static_cast<uint32_t>(static_cast<uint8_t>(bytes_[offset + 1])) << 8;
  }
  uint32_t u32(size_t offset) const { return u16(offset) | u16(offset + 2) << 16; }

  std::string_view string_at(const Section& strings, uint32_t offset) const {
    const size_t start = size_t{strings.offset} + offset;
    const size_t end = size_t{strings.offset} + strings.size;
    if (offset >= strings.size || end > bytes_.size()) fail();
    const char* begin = bytes_.data() + start;
    const void* terminator = std::memchr(begin, '\0', end - start);
    if (terminator == nullptr) fail();
    return std::string_view(begin, static_cast<size_t>(static_cast<const char*>(terminator) - begin));
  }

  fs::path path_;
  std::string bytes_;
  std::vector<Section> sections_;
  std::vector<uint32_t> name_offsets_;
};

}  // namespace

void write_firmware_project(const codegen::Board& board, const fs::path& directory,
                            std::span<const SourceFile> sources, const ProjectOptions& options) {
  for (const SourceFile& source : sources) check_relative_path(source.path);
  for (const std::string& include : options.include_directories) check_relative_path(include);

  for (const SourceFile& source : sources) write_text(directory / source.path, source.contents);
  for (const EmbeddedFile& file : platform_files()) {
    if (file.name == "linker.ld.in") continue;
    write_text(directory / "platform" / file.name, file.contents);
  }
  write_text(directory / "platform" / "qemu.ld",
             linker_script(board.qemu_flash, board.qemu_ram, options.stack_bytes));
  write_text(directory / "platform" / "board.ld",
             linker_script(board.flash, board.ram, options.stack_bytes));
  write_text(directory / "Makefile", makefile(board, sources, options));
}

bool arm_toolchain_available() {
  return find_program("arm-none-eabi-g++").has_value() && find_program("make").has_value();
}

bool qemu_available() { return find_program("qemu-system-arm").has_value(); }

fs::path build_firmware(const fs::path& directory, FirmwareTarget target, int jobs) {
  if (!find_program("arm-none-eabi-g++")) {
    throw ir::Error(
        "arm-none-eabi-g++ not found on PATH: install gcc-arm-none-eabi (Debian/Ubuntu: apt-get "
        "install gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib)");
  }
  if (!find_program("make")) throw ir::Error("make not found on PATH: install make");
  if (!fs::exists(directory / "Makefile")) {
    throw ir::Error(directory.string() + ": no Makefile (not a firmware project)");
  }
  if (jobs <= 0) jobs = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const char* name = target == FirmwareTarget::kQemu ? "qemu" : "board";
  const ProcessResult result =
      run_process({"make", "-C", directory.string(), "-j" + std::to_string(jobs), name}, {},
                  std::chrono::minutes(30));
  if (result.timed_out || result.exit_code != 0) {
    const std::string line = first_error_line(result.stderr_text + "\n" + result.stdout_text);
    throw ir::Error(fmt::format("firmware build failed in {}: {}", directory.string(),
                                line.empty() ? "make exited with status " +
                                                   std::to_string(result.exit_code)
                                             : line));
  }
  return directory / "build" / name / "firmware.elf";
}

MemoryUsage firmware_memory_usage(const fs::path& elf) {
  const ElfFile file(elf);
  MemoryUsage usage;
  for (const Section& section : file.sections()) {
    if ((section.flags & kShfAlloc) == 0) continue;
    if (section.name == ".stack") {
      usage.stack_bytes += section.size;
    } else if (section.type == kShtNobits) {
      usage.ram_bytes += section.size;
    } else {
      usage.flash_bytes += section.size;
      // Initialised data lives in RAM and its image in flash; our linker script puts all of
      // it in .data.
      if (section.name == ".data") usage.ram_bytes += section.size;
    }
  }
  return usage;
}

std::optional<uint32_t> elf_symbol_address(const fs::path& elf, std::string_view name) {
  return ElfFile(elf).symbol(name);
}

}  // namespace frugal::mcu
