using System.CommandLine;
using LastTokenEmbeddings.Checkpoints;
using LastTokenEmbeddings.Embeddings;
using LastTokenEmbeddings.Pooling;
using LastTokenEmbeddings.Tokenization;

namespace LastTokenEmbeddings.Cli;

/// <summary>The options of the commands that run the model: --model, --instruction, --dtype, --dimensions, --max-tokens, --layer, --format.</summary>
internal sealed class ModelOptionSet
{
    public Option<string?> Model { get; } = CliOptions.Model();
    public Option<string?> Revision { get; } = CliOptions.Revision();
    public Option<string?> Instruction { get; } = CliOptions.Instruction();
    public Option<string> DType { get; } = CliOptions.DType();
    public Option<string?> SpecialTokens { get; } = CliOptions.SpecialTokens();
    public Option<int?> Dimensions { get; } = CliOptions.Dimensions();
    public Option<int?> MaxTokens { get; } = CliOptions.MaxTokens();
    public Option<int?> Layer { get; } = CliOptions.Layer();
    public Option<string> Format { get; } = CliOptions.Format();

    public void AddTo(Command command)
    {
        command.AddOptions(Model, Revision, Instruction, DType, SpecialTokens, Dimensions, MaxTokens, Layer, Format);
    }

    public ModelLoadOptions LoadOptions(ParseResult result) =>
        new() { DType = CliOptions.ParseDType(result.GetValue(DType)!) };

    public EmbeddingOptions EmbeddingOptions(ParseResult result, IPoolingStrategy? pooling, PromptFormat? prompt, bool? normalize) => new()
    {
        Pooling = pooling,
        Prompt = prompt,
        Normalize = normalize,
        SpecialTokens = CliOptions.ParseSpecialTokens(result.GetValue(SpecialTokens)),
        Dimensions = result.GetValue(Dimensions),
        MaxTokens = result.GetValue(MaxTokens),
    };

    /// <summary>The model directory for <c>--model</c> and <c>--revision</c> (a hub id is resolved, with progress on a terminal).</summary>
    public string ResolveModel(ParseResult result, CliContext context) =>
        ModelLocator.Resolve(result.GetValue(Model), context, result.GetValue(Revision));

    public bool IsJson(ParseResult result) => CliOptions.IsJson(result.GetValue(Format)!);
}
