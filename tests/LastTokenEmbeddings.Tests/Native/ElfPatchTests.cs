using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace LastTokenEmbeddings.Tests.Native;

/// <summary>
/// End-to-end checks of the GLIBCXX_3.4.32 fix (src/LastTokenEmbeddings/buildTransitive): the copy of
/// libLibTorchSharp.so in this test project's own build output has that version requirement marked
/// weak (on every Linux output, whatever the build host has), and the NuGet cache copy is left alone.
/// The ELF reading here is independent of the patcher (it finds sections by name, not by type).
/// </summary>
public class ElfPatchTests
{
    private const string VersionName = "GLIBCXX_3.4.32";
    private const string LibStdCxx = "libstdc++.so.6";
    private const ushort VerFlagWeak = 0x2;

    private static readonly Lazy<string?> HostLibStdCxx = new(FindHostLibStdCxx);

    private static string OutputCopy =>
        Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");

    [Test]
    public void Output_copy_marks_the_GLIBCXX_3_4_32_requirement_weak()
    {
        RequireLinuxX64();
        var entry = Requirement(ElfVersionInfo.Read(File.ReadAllBytes(OutputCopy)), OutputCopy);
        Assert.That(entry.Flags & VerFlagWeak, Is.EqualTo(VerFlagWeak),
            $"{VersionName} is not flagged weak in {OutputCopy}; was the buildTransitive target imported?");
    }

    [Test]
    public void Output_copy_differs_from_the_NuGet_cache_copy_only_in_that_flag()
    {
        RequireLinuxX64();
        var cachePath = NuGetCacheCopy();
        var original = File.ReadAllBytes(cachePath);
        var patched = File.ReadAllBytes(OutputCopy);
        Assert.That(patched, Has.Length.EqualTo(original.Length));

        var entry = Requirement(ElfVersionInfo.Read(original), cachePath);
        var differing = Enumerable.Range(0, original.Length).Where(i => original[i] != patched[i]).ToArray();
        Assert.That(differing, Is.Not.Empty, "the output copy is identical to the NuGet cache copy");
        Assert.That(differing, Is.SubsetOf(new[] { entry.FlagsOffset, entry.FlagsOffset + 1 }),
            "bytes other than the vna_flags field of the GLIBCXX_3.4.32 entry changed");

        var before = ElfVersionInfo.Read(original).Needed;
        var after = ElfVersionInfo.Read(patched).Needed;
        Assert.That(after.Select(e => (e.File, e.Name)), Is.EqualTo(before.Select(e => (e.File, e.Name))));
        for (var i = 0; i < before.Count; i++)
        {
            var expected = before[i].Name == VersionName ? (ushort)(before[i].Flags | VerFlagWeak) : before[i].Flags;
            Assert.That(after[i].Flags, Is.EqualTo(expected), $"{after[i].File} {after[i].Name}");
        }
    }

    [Test]
    public void NuGet_cache_copy_is_not_modified()
    {
        RequireLinuxX64();
        var cachePath = NuGetCacheCopy();
        var entry = Requirement(ElfVersionInfo.Read(File.ReadAllBytes(cachePath)), cachePath);
        Assert.That(entry.Flags & VerFlagWeak, Is.Zero,
            $"{VersionName} is flagged weak in the NuGet cache copy {cachePath}: the cache was patched in place");
    }

    [Test]
    public void Parser_reads_the_host_libstdcxx_version_definitions()
    {
        RequireLinuxX64();
        var host = HostLibStdCxx.Value;
        if (host is null)
            Assert.Ignore("Host libstdc++.so.6 not found.");
        var defined = ElfVersionInfo.Read(File.ReadAllBytes(host)).Defined;
        Assert.That(defined, Does.Contain("GLIBCXX_3.4"));
        Assert.That(defined, Does.Contain("CXXABI_1.3"));
    }

    private static ElfVersionInfo.VersionNeed Requirement(ElfVersionInfo info, string path)
    {
        var matches = info.Needed.Where(e => e.Name == VersionName).ToList();
        Assert.That(matches, Has.Count.EqualTo(1), $"expected one {VersionName} requirement in {path}");
        Assert.That(matches[0].File, Is.EqualTo(LibStdCxx), path);
        return matches[0];
    }

    private static void RequireLinuxX64()
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64)
            Assert.Ignore("The libLibTorchSharp.so fix only applies on linux-x64.");
        Assert.That(File.Exists(OutputCopy), Is.True, $"{OutputCopy} missing");
    }


    /// <summary>The libstdc++ this process uses (from /proc/self/maps), else the usual locations.</summary>
    private static string? FindHostLibStdCxx()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/maps"))
            {
                var slash = line.IndexOf('/', StringComparison.Ordinal);
                if (slash >= 0 && Path.GetFileName(line[slash..]) == LibStdCxx)
                    return line[slash..];
            }
        }
        catch (IOException)
        {
        }
        string[] candidates =
        [
            "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6",
            "/lib64/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6",
        ];
        return candidates.FirstOrDefault(File.Exists);
    }

    /// <summary>libLibTorchSharp.so in the NuGet global packages folder, for the TorchSharp version this build uses.</summary>
    private static string NuGetCacheCopy()
    {
        var depsJson = Path.Combine(AppContext.BaseDirectory, typeof(ElfPatchTests).Assembly.GetName().Name + ".deps.json");
        using var deps = JsonDocument.Parse(File.ReadAllText(depsJson));
        var packagePath = deps.RootElement.GetProperty("libraries").EnumerateObject()
            .Where(p => p.Name.StartsWith("TorchSharp/", StringComparison.Ordinal))
            .Select(p => p.Value.GetProperty("path").GetString())
            .FirstOrDefault() ?? throw new InvalidOperationException("TorchSharp not listed in " + depsJson);

        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES");
        if (string.IsNullOrEmpty(packages))
            packages = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var path = Path.Combine(packages, packagePath, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.That(File.Exists(path), Is.True,
            $"NuGet cache copy {path} not found (a custom globalPackagesFolder? set NUGET_PACKAGES)");
        return path;
    }
}

/// <summary>Minimal reader of the GNU symbol-versioning sections of a 64-bit little-endian ELF file.</summary>
internal sealed class ElfVersionInfo
{
    /// <summary>One version-needed (Elf64_Vernaux) entry; <see cref="FlagsOffset"/> is the file offset of vna_flags.</summary>
    internal sealed record VersionNeed(string File, string Name, ushort Flags, int FlagsOffset);

    private readonly byte[] elf;

    private ElfVersionInfo(byte[] elf) => this.elf = elf;

    public List<VersionNeed> Needed { get; } = [];

    public HashSet<string> Defined { get; } = new(StringComparer.Ordinal);

    public static ElfVersionInfo Read(byte[] elf)
    {
        if (elf.Length < 64 || !elf.AsSpan(0, 4).SequenceEqual("\u007fELF"u8))
            throw new InvalidDataException("not an ELF file");
        if (elf[4] != 2 || elf[5] != 1)
            throw new InvalidDataException("not a 64-bit little-endian ELF file");
        var info = new ElfVersionInfo(elf);
        var sections = info.Sections();
        foreach (var s in sections)
        {
            if (s.Name == ".gnu.version_r")
                info.ReadNeeded(s, sections[(int)s.Link]);
            else if (s.Name == ".gnu.version_d")
                info.ReadDefined(s, sections[(int)s.Link]);
        }
        return info;
    }

    private sealed record Section(string Name, long Offset, long Size, uint Link, uint Info);

    private List<Section> Sections()
    {
        var shoff = checked((int)U64(0x28));
        int shentsize = U16(0x3A), shnum = U16(0x3C), shstrndx = U16(0x3E);
        var raw = Enumerable.Range(0, shnum).Select(i => shoff + i * shentsize)
            .Select(h => (NameIndex: U32(h), Offset: (long)U64(h + 0x18), Size: (long)U64(h + 0x20), Link: U32(h + 0x28), Info: U32(h + 0x2C)))
            .ToList();
        var names = checked((int)raw[shstrndx].Offset);
        return raw.Select(r => new Section(Str(names + (int)r.NameIndex), r.Offset, r.Size, r.Link, r.Info)).ToList();
    }

    private void ReadNeeded(Section versionR, Section strings)
    {
        Assert.That(strings.Name, Is.EqualTo(".dynstr"));
        var strtab = checked((int)strings.Offset);
        var vn = checked((int)versionR.Offset);
        for (var n = 0u; n < versionR.Info; n++) // sh_info: number of Elf64_Verneed entries
        {
            var file = Str(strtab + (int)U32(vn + 4));
            var aux = vn + (int)U32(vn + 8);
            for (var a = 0; a < U16(vn + 2); a++)
            {
                Needed.Add(new VersionNeed(file, Str(strtab + (int)U32(aux + 8)), U16(aux + 4), aux + 4));
                aux += (int)U32(aux + 12);
            }
            vn += (int)U32(vn + 12);
        }
    }

    private void ReadDefined(Section versionD, Section strings)
    {
        var strtab = checked((int)strings.Offset);
        var vd = checked((int)versionD.Offset);
        for (var n = 0u; n < versionD.Info; n++) // sh_info: number of Elf64_Verdef entries
        {
            var aux = vd + (int)U32(vd + 12);
            Defined.Add(Str(strtab + (int)U32(aux)));
            vd += (int)U32(vd + 16);
        }
    }

    private ushort U16(int at) => BinaryPrimitives.ReadUInt16LittleEndian(elf.AsSpan(at, 2));

    private uint U32(int at) => BinaryPrimitives.ReadUInt32LittleEndian(elf.AsSpan(at, 4));

    private ulong U64(int at) => BinaryPrimitives.ReadUInt64LittleEndian(elf.AsSpan(at, 8));

    private string Str(int at) => Encoding.ASCII.GetString(elf, at, elf.AsSpan(at).IndexOf((byte)0));
}
