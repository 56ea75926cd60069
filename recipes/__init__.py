"""wavenets' training recipes (TOML) and experiments (``experiments/*.toml``), installed with the
package as ``wavenets.recipes`` so that ``wavenets train NAME`` finds them without the source tree."""
