# Writes OUT: a C++ source defining orderflow::stdlib_files() from INPUTS.
set(body "#include \"stdlib/stdlib.h\"\n\nnamespace orderflow {\n\nconst std::vector<StdlibFile>& stdlib_files() {\n  static const std::vector<StdlibFile> files = {\n")
foreach(path ${INPUTS})
  get_filename_component(name ${path} NAME)
  file(READ ${path} text)
  # Raw string literals cannot hold their own delimiter; the .flow files never do.
  string(APPEND body "    {\"<stdlib>/${name}\", R\"ORDERFLOW_STDLIB(${text})ORDERFLOW_STDLIB\"},\n")
endforeach()
string(APPEND body "  };\n  return files;\n}\n\n}  // namespace orderflow\n")
file(WRITE ${OUT} "${body}")
