namespace LastTokenEmbeddings.Tokenization;

/// <summary>
/// Whether a text is a search query or a document (passage). Only asymmetric formats such as
/// <see cref="PromptFormat.E5Instruct(string?)"/> treat the two differently; <see cref="PromptFormat.Raw"/>,
/// <see cref="PromptFormat.MistralInstruct"/> and <see cref="PromptFormat.Custom(string, bool, bool)"/> ignore the role.
/// </summary>
public enum TextRole
{
    /// <summary>A search query (for E5: wrapped in the instruction).</summary>
    Query = 0,

    /// <summary>A document or passage to be retrieved (for E5: embedded without instruction).</summary>
    Document = 1,
}
