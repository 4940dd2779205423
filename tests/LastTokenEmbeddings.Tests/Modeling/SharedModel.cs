using LastTokenEmbeddings.Checkpoints;
using LastTokenEmbeddings.Modeling;

namespace LastTokenEmbeddings.Tests.Modeling;

/// <summary>One float32 load of the fixture, shared by the tests that only read it.</summary>
internal static class SharedModel
{
    private static readonly Lazy<DecoderForCausalLM> Float32Model = new(() =>
        DecoderForCausalLM.Load(TestPaths.FixtureDirectory, new ModelLoadOptions { DType = ComputeDType.Float32 }));

    public static DecoderForCausalLM Float32 => Float32Model.Value;
}
