// Compiled by MSBuild's RoslynCodeTaskFactory from LastTokenEmbeddings.targets; not part of the library.
using System;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

/// <summary>
/// Sets VER_FLG_WEAK on one version-needed entry (e.g. GLIBCXX_3.4.32) of ELF shared objects. Done for every
/// Linux output whatever the build host has, because the app may run elsewhere (built on a newer image, run on
/// Debian 12); where the runtime libstdc++ has the version the weak flag changes nothing. Writes a new file and
/// renames it over the old one, so a hard link into the NuGet cache is never modified. Every read of the file is
/// bounds-checked: an odd or truncated file gives a warning, never an exception out of the build.
/// </summary>
public sealed class WeakenElfVersionRequirement : Microsoft.Build.Utilities.Task
{
    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const ushort VerFlagWeak = 0x2;

    /// <summary>The ELF files to patch.</summary>
    [Required]
    public ITaskItem[] Files { get; set; } = Array.Empty<ITaskItem>();

    /// <summary>The version name whose requirement becomes weak.</summary>
    [Required]
    public string VersionName { get; set; } = "";

    /// <inheritdoc />
    public override bool Execute()
    {
        foreach (var item in Files)
        {
            var path = item.GetMetadata("FullPath");
            try
            {
                var bytes = File.ReadAllBytes(path);
                var timestamp = File.GetLastWriteTimeUtc(path);
                var result = Weaken(bytes, VersionName);
                if (result == PatchResult.Patched)
                {
                    var temp = path + ".lte-tmp";
                    File.WriteAllBytes(temp, bytes);
                    File.Delete(path); // unlinks a hard link instead of writing through it
                    File.Move(temp, path);
                    // Keep the copy's timestamp so incremental builds see it as up to date and skip re-copying.
                    File.SetLastWriteTimeUtc(path, timestamp);
                    Log.LogMessage(MessageImportance.Normal, $"LastTokenEmbeddings: marked {VersionName} weak in {path}.");
                }
                else
                {
                    Log.LogMessage(MessageImportance.Low, $"{path}: {result}.");
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or OverflowException)
            {
                Log.LogWarning($"LastTokenEmbeddings: could not patch {path}: {e.Message}");
            }
        }
        return !Log.HasLoggedErrors;
    }

    /// <summary>Result of <see cref="Weaken"/>.</summary>
    public enum PatchResult { Patched, AlreadyWeak, NotReferenced }

    /// <summary>Patches <paramref name="elf"/> in memory (ELF64 little-endian only).</summary>
    /// <exception cref="InvalidDataException">Not an ELF64 little-endian file, or a header, section or version entry lies outside it.</exception>
    public static PatchResult Weaken(byte[] elf, string versionName)
    {
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
            throw new InvalidDataException("not an ELF file");
        if (elf[4] != 2 || elf[5] != 1)
            throw new InvalidDataException("only 64-bit little-endian ELF is supported");
        var shoff = Offset(elf, U64(elf, 0x28), "section header table");
        int shentsize = U16(elf, 0x3A);
        int shnum = U16(elf, 0x3C);
        if (shnum > 0 && shentsize < 64)
            throw new InvalidDataException($"section header size {shentsize} is below the 64 bytes of ELF64");
        // Each entry is at least 16 bytes, so no honest count exceeds this; a loop that never advances stays bounded.
        var maxEntries = elf.Length / 16;
        for (var i = 0; i < shnum; i++)
        {
            var sh = Offset(elf, (ulong)shoff + (ulong)i * (ulong)shentsize, "section header", 64);
            if (U32(elf, sh + 4) != ShtGnuVerneed) continue;
            var verneedOffset = Offset(elf, U64(elf, sh + 24), ".gnu.version_r");
            var count = U32(elf, sh + 44);
            var link = U32(elf, sh + 40);
            if (link >= shnum)
                throw new InvalidDataException($"the version section links to section {link} of {shnum}");
            var strtab = Offset(elf, (ulong)shoff + link * (ulong)shentsize, "string table header", 64);
            var strOffset = Offset(elf, U64(elf, strtab + 24), "string table");
            if (count > maxEntries)
                throw new InvalidDataException($"{count} version-needed entries cannot fit in the file");

            var entry = verneedOffset;
            for (var n = 0; n < count; n++)
            {
                Offset(elf, (ulong)entry, "version-needed entry", 16);
                int auxCount = U16(elf, entry + 2);
                if (auxCount > maxEntries)
                    throw new InvalidDataException($"{auxCount} version entries cannot fit in the file");
                var aux = Offset(elf, (ulong)entry + U32(elf, entry + 8), "version entry");
                for (var a = 0; a < auxCount; a++)
                {
                    Offset(elf, (ulong)aux, "version entry", 16);
                    var flags = U16(elf, aux + 4);
                    var name = Offset(elf, (ulong)strOffset + U32(elf, aux + 8), "version name", 1);
                    if (NameAt(elf, name) == versionName)
                    {
                        if ((flags & VerFlagWeak) != 0) return PatchResult.AlreadyWeak;
                        var patched = (ushort)(flags | VerFlagWeak);
                        elf[aux + 4] = (byte)patched;
                        elf[aux + 5] = (byte)(patched >> 8);
                        return PatchResult.Patched;
                    }
                    aux = Offset(elf, (ulong)aux + U32(elf, aux + 12), "next version entry", 0);
                }
                entry = Offset(elf, (ulong)entry + U32(elf, entry + 12), "next version-needed entry", 0);
            }
        }
        return PatchResult.NotReferenced;
    }

    /// <summary><paramref name="offset"/> as an index, when <paramref name="length"/> bytes from it lie inside the file.</summary>
    private static int Offset(byte[] elf, ulong offset, string what, int length = 0)
    {
        if (offset > (ulong)elf.Length || (ulong)elf.Length - offset < (ulong)length)
            throw new InvalidDataException($"{what} at offset {offset} lies outside the {elf.Length}-byte file");
        return (int)offset;
    }

    private static ushort U16(byte[] b, int at) =>
        at >= 0 && at <= b.Length - 2 ? (ushort)(b[at] | b[at + 1] << 8) : throw new InvalidDataException($"read at offset {at} lies outside the {b.Length}-byte file");
    private static uint U32(byte[] b, int at) => (uint)(U16(b, at) | U16(b, at + 2) << 16);
    private static ulong U64(byte[] b, int at) => U32(b, at) | (ulong)U32(b, at + 4) << 32;

    private static string NameAt(byte[] b, int at)
    {
        var end = Array.IndexOf(b, (byte)0, at);
        return end < 0 ? "" : Encoding.ASCII.GetString(b, at, end - at);
    }
}
