using LastTokenEmbeddings.Checkpoints;
using LastTokenEmbeddings.Modeling;

namespace LastTokenEmbeddings.Tests.Modeling;

/// <summary>One float32 load of the fixture, shared by the tests that only read it.</summary>
public static class SharedModel
{
    private static readonly Lazy<MistralForCausalLM> Float32Model = new(() =>
        MistralForCausalLM.Load(TestPaths.FixtureDirectory, new ModelLoadOptions { DType = ComputeDType.Float32 }));

    public static MistralForCausalLM Float32 => Float32Model.Value;
}
