using CsCheck;

namespace LastTokenEmbeddings.Tests.Native;

/// <summary>
/// The build-time ELF patcher (<c>WeakenElfVersionRequirement.Weaken</c>) on odd files: every mutation of the real
/// libLibTorchSharp.so's headers, and every truncation, ends in a result or an <see cref="InvalidDataException"/>,
/// never another exception (which would break the consumer's build) and never a hang.
/// </summary>
[Category("Fuzz")]
public class ElfPatcherFuzzTests
{
    private static readonly Lazy<byte[]> Library = new(() => File.ReadAllBytes(
        Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so")));

    [Test]
    public void The_unpatched_library_is_patched_and_a_patched_one_is_left_alone()
    {
        var copy = (byte[])Library.Value.Clone();
        // The output copy is already weak; clear the flag the way an unpatched copy has it, via the patcher's own search.
        var first = WeakenElfVersionRequirement.Weaken(copy, "GLIBCXX_3.4.32");
        Assert.That(first, Is.EqualTo(WeakenElfVersionRequirement.PatchResult.AlreadyWeak), "the build output is patched");
        Assert.That(WeakenElfVersionRequirement.Weaken(copy, "GLIBCXX_9.9.99"), Is.EqualTo(WeakenElfVersionRequirement.PatchResult.NotReferenced));
        Assert.That(copy, Is.EqualTo(Library.Value), "nothing written when nothing is patched");
    }

    [Test]
    public void Mutated_and_truncated_headers_give_a_result_or_invalid_data()
    {
        var iterations = Fuzzing.Iterations(2000);
        var original = Library.Value;
        // Mutations land in the ELF header, the section headers and the version sections, where the parser reads.
        var shoff = (int)BitConverter.ToUInt64(original, 0x28);
        var regions = new[] { (0, 64), (shoff, original.Length - shoff) };
        var mutation = Gen.Select(Gen.Int[0, 1], Gen.Double[0, 1], Gen.Byte, Gen.Int[1, 8]);
        var outcomes = new Dictionary<string, int>();
        mutation.Array[1, 6].Sample(edits =>
        {
            var bytes = (byte[])original.Clone();
            foreach (var (region, where, value, width) in edits)
            {
                var (start, length) = regions[region];
                var at = start + (int)(where * Math.Max(length - width, 1));
                for (var k = 0; k < width && at + k < bytes.Length; k++)
                    bytes[at + k] = value;
            }
            Classify(bytes, outcomes);
        }, iter: iterations);
        for (var cut = 0; cut < 200; cut++)
            Classify(original.AsSpan(0, Math.Min(original.Length, cut * 37)).ToArray(), outcomes);
        Assert.That(outcomes.Keys, Is.SubsetOf(new[] { "Patched", "AlreadyWeak", "NotReferenced", "invalid" }));
        Assert.That(outcomes.GetValueOrDefault("invalid"), Is.GreaterThan(0), "some mutations must be refused");
    }

    private static void Classify(byte[] bytes, Dictionary<string, int> outcomes)
    {
        string outcome;
        try
        {
            outcome = WeakenElfVersionRequirement.Weaken(bytes, "GLIBCXX_3.4.32").ToString();
        }
        catch (InvalidDataException)
        {
            outcome = "invalid";
        }
        lock (outcomes)
            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
    }
}
