#pragma once

#include <string>

namespace chfleet::files {

/// Reads a whole file; throws Exception(IoError) naming the path.
std::string read(const std::string& path);

/// Crash-safe replacement of a file: writes `path`.tmp, fsyncs it, renames it over `path`, fsyncs the folder.
/// After a crash at any instant the file holds either its old or its new content, never a mix.
void writeAtomically(const std::string& path, const std::string& content, unsigned mode = 0644);

/// Creates a folder and its parents; throws Exception(IoError) naming the path.
void makeDirectories(const std::string& path, unsigned mode = 0755);

/// Absolute, normalised form of a path (the path need not exist).
std::string absolute(const std::string& path);

}  // namespace chfleet::files
