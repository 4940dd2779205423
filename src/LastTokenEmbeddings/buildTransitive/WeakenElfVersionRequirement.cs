// Compiled by MSBuild's RoslynCodeTaskFactory from LastTokenEmbeddings.targets; not part of the library.
using System;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

/// <summary>
/// Sets VER_FLG_WEAK on one version-needed entry (e.g. GLIBCXX_3.4.32) of ELF shared objects,
/// only when the host's libstdc++ does not define that version. Writes a new file and renames
/// it over the old one, so a hard link into the NuGet cache is never modified.
/// </summary>
public sealed class WeakenElfVersionRequirement : Task
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
        if (HostProvides(VersionName))
        {
            Log.LogMessage(MessageImportance.Low, $"Host libstdc++ provides {VersionName}; nothing to patch.");
            return true;
        }
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
                    Log.LogMessage(MessageImportance.High, $"LastTokenEmbeddings: marked {VersionName} weak in {path} (host libstdc++ lacks it).");
                }
                else
                {
                    Log.LogMessage(MessageImportance.Low, $"{path}: {result}.");
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
            {
                Log.LogWarning($"LastTokenEmbeddings: could not patch {path}: {e.Message}");
            }
        }
        return !Log.HasLoggedErrors;
    }

    private static bool HostProvides(string versionName)
    {
        string[] candidates =
        {
            "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib/aarch64-linux-gnu/libstdc++.so.6",
            "/usr/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6", "/lib64/libstdc++.so.6", "/lib/libstdc++.so.6",
        };
        var needle = Encoding.ASCII.GetBytes(versionName + "\0");
        foreach (var candidate in candidates)
        {
            if (File.Exists(candidate))
                return IndexOf(File.ReadAllBytes(candidate), needle) >= 0;
        }
        return false; // unknown host: weakening an unmet requirement is harmless
    }

    /// <summary>Result of <see cref="Weaken"/>.</summary>
    public enum PatchResult { Patched, AlreadyWeak, NotReferenced }

    /// <summary>Patches <paramref name="elf"/> in memory (ELF64 little-endian only).</summary>
    public static PatchResult Weaken(byte[] elf, string versionName)
    {
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
            throw new InvalidDataException("not an ELF file");
        if (elf[4] != 2 || elf[5] != 1)
            throw new InvalidDataException("only 64-bit little-endian ELF is supported");
        var shoff = checked((int)U64(elf, 0x28));
        int shentsize = U16(elf, 0x3A);
        int shnum = U16(elf, 0x3C);
        for (var i = 0; i < shnum; i++)
        {
            var sh = shoff + i * shentsize;
            if (U32(elf, sh + 4) != ShtGnuVerneed) continue;
            var verneedOffset = checked((int)U64(elf, sh + 24));
            var count = U32(elf, sh + 44);
            var strtab = shoff + checked((int)U32(elf, sh + 40)) * shentsize;
            var strOffset = checked((int)U64(elf, strtab + 24));

            var entry = verneedOffset;
            for (var n = 0; n < count; n++)
            {
                int auxCount = U16(elf, entry + 2);
                var aux = entry + checked((int)U32(elf, entry + 8));
                for (var a = 0; a < auxCount; a++)
                {
                    var flags = U16(elf, aux + 4);
                    var name = strOffset + checked((int)U32(elf, aux + 8));
                    if (NameAt(elf, name) == versionName)
                    {
                        if ((flags & VerFlagWeak) != 0) return PatchResult.AlreadyWeak;
                        var patched = (ushort)(flags | VerFlagWeak);
                        elf[aux + 4] = (byte)patched;
                        elf[aux + 5] = (byte)(patched >> 8);
                        return PatchResult.Patched;
                    }
                    aux += checked((int)U32(elf, aux + 12));
                }
                entry += checked((int)U32(elf, entry + 12));
            }
        }
        return PatchResult.NotReferenced;
    }

    private static ushort U16(byte[] b, int at) => (ushort)(b[at] | b[at + 1] << 8);
    private static uint U32(byte[] b, int at) => (uint)(U16(b, at) | U16(b, at + 2) << 16);
    private static ulong U64(byte[] b, int at) => U32(b, at) | (ulong)U32(b, at + 4) << 32;

    private static string NameAt(byte[] b, int at)
    {
        var end = Array.IndexOf(b, (byte)0, at);
        return end < 0 ? "" : Encoding.ASCII.GetString(b, at, end - at);
    }

    private static int IndexOf(byte[] haystack, byte[] needle)
    {
        for (var i = Array.IndexOf(haystack, needle[0]); i >= 0 && i <= haystack.Length - needle.Length;
             i = Array.IndexOf(haystack, needle[0], i + 1))
        {
            var j = 1;
            while (j < needle.Length && haystack[i + j] == needle[j]) j++;
            if (j == needle.Length) return i;
        }
        return -1;
    }
}
